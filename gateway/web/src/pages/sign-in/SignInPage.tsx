/**
 * `/admin/sign-in[?next=/admin/…][&expired=1]`: exchange a tenant API key for a session
 * (`POST /api/v1/auth/login`); the key itself is never stored by the page. Then on to `next`
 * (only an `/admin/` path) or the extensions list. `expired=1` says the session ended.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.ts';
import { useSession } from '../../api/session.tsx';
import { Button } from '../../components/Button.tsx';
import { productName } from '../../components/Page.tsx';
import { navigate, useLocation } from '../../router.tsx';
import { safeNext } from '../../routes.ts';

function signInError(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Signing in failed. Try again.';
  if (err.unreachable) return "Can't reach the gateway. Check that it is running, then try again.";
  if (err.code === 'E_AUTH') return `That API key was not accepted: ${err.message}. Check the key and try again.`;
  if (err.code === 'E_CSRF') return 'Sign in from this page itself: the gateway refused a sign-in from another site.';
  return err.message;
}

export function SignInPage() {
  const { signIn } = useSession();
  const { searchParams } = useLocation();
  const expired = searchParams.get('expired') === '1';
  const next = safeNext(searchParams.get('next'));
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();

  useEffect(() => { document.title = `Sign in · ${productName}`; }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const key = apiKey.trim();
    if (!key) { setError('Enter your API key.'); return; }
    setBusy(true);
    setError(undefined);
    try {
      await signIn(key);
      setApiKey('');
      navigate(next, { replace: true });
    } catch (err) {
      setError(signInError(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <div className="signin-card">
        <div className="signin-brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{productName}</span>
        </div>
        <h1>Sign in</h1>
        <p className="signin-lead">Manage your tenant's extensions: installs, settings, secrets and activity.</p>
        {expired && !error && (
          <div className="notice notice-warning" role="status">Your session expired; sign in again.</div>
        )}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <div className="field">
            <label htmlFor={inputId}>API key</label>
            <input
              id={inputId}
              name="apiKey"
              type="password"
              autoComplete="off"
              spellCheck={false}
              autoFocus
              placeholder="alga_…"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${errorId} ${hintId}` : hintId}
            />
            <p id={hintId} className="field-hint">A key of your tenant with an extension role. Settings and secrets need <code>extension:admin</code>.</p>
            {error && <p id={errorId} className="field-error" role="alert">{error}</p>}
          </div>
          <Button type="submit" variant="primary" busy={busy} className="button-block">Sign in</Button>
        </form>
      </div>
    </main>
  );
}
