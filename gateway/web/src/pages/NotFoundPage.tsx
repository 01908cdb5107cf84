/** Any /admin/ path no route matches. */
import { Page } from '../components/Page.tsx';
import { buttonClass } from '../components/Button.tsx';
import { Link } from '../router.tsx';
import { paths } from '../routes.ts';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <div className="card card-padded">
        <p>There is no page at <code>{window.location.pathname}</code>. The link may be out of date.</p>
        <Link to={paths.extensions} className={buttonClass('primary')}>Go to extensions</Link>
      </div>
    </Page>
  );
}
