/**
 * Every page's frame inside the shell: the one `<h1>` (focused after an in-app navigation, so
 * screen readers announce the new page), an optional description, actions on the right, an
 * optional back link, and the document title ("Extensions · Alga Admin").
 *
 * @example
 *   <Page title="API keys" description="Keys for API clients and for signing in here." actions={<Button variant="primary">New key</Button>}>
 *     <DataTable … />
 *   </Page>
 */
import { useEffect, type ReactNode } from 'react';
import { Link } from '../router.tsx';

export interface PageProps {
  title: string;
  /** Shown above the title, e.g. the extension's name on its settings page. */
  eyebrow?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  back?: { to: string; label: string };
  children?: ReactNode;
}

export const productName = 'Alga Extensions';

export function Page({ title, eyebrow, description, actions, back, children }: PageProps) {
  useEffect(() => { document.title = `${title} · ${productName}`; }, [title]);
  return (
    <>
      {back && <Link to={back.to} className="back-link">← {back.label}</Link>}
      <div className="page-header">
        <div className="page-heading">
          {eyebrow && <div className="page-eyebrow">{eyebrow}</div>}
          <h1 id="page-title" tabIndex={-1}>{title}</h1>
          {description && <p className="page-description">{description}</p>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}
