/**
 * The settings as `extension:read` / `extension:write` see them: the same groups as the form, each
 * value as text (select labels, On/Off, "default" marks), and no secret controls — secrets are
 * admin-only (`GET /secrets` needs `extension:admin`), so only their names are listed.
 */
import { useId } from 'react';
import type { SettingField } from '@alga-psa/extension-contracts/settings';
import type { InstallSettings } from '../../api/types.ts';
import { formatDate, relativeTime } from '../../components/Table.tsx';
import { displayValue, groupFields, secretFields } from './model.ts';

export function ReadOnlySettings({ settings }: { settings: InstallSettings }) {
  const base = useId();
  const fields = (settings.settings ?? []) as SettingField[];
  const groups = groupFields(fields);
  const secrets = secretFields(fields);
  return (
    <>
      <div className="notice notice-info settings-readonly-notice">
        You can view this configuration. Changing it, and managing secrets, needs the <code>extension:admin</code> role.
      </div>
      <div className="settings-versions" aria-label="Versions" role="group">
        <div className="settings-version">
          <span className="settings-version-label">Configuration</span>
          <span className="settings-version-value">Version <span className="mono" data-testid="config-version">{settings.configVersion}</span></span>
          <span className="settings-version-meta">{settings.updatedAt ? <>Changed <time dateTime={settings.updatedAt} title={formatDate(settings.updatedAt)}>{relativeTime(settings.updatedAt)}</time></> : 'Never changed'}</span>
        </div>
      </div>
      {groups.map((group) => (
        <section key={group.id} className="card settings-section" aria-labelledby={`${base}-${group.id}`}>
          <div className="card-header"><h2 id={`${base}-${group.id}`}>{group.title}</h2></div>
          <dl className="settings-readonly">
            {group.fields.map((field) => {
              const value = settings.config[field.key];
              const isDefault = field.default !== undefined && Object.is(value ?? field.default, field.default);
              return (
                <div key={field.key} className="settings-readonly-row">
                  <dt>
                    <span className="settings-readonly-label">{field.label}</span>
                    {field.description && <span className="field-hint">{field.description}</span>}
                  </dt>
                  <dd>
                    <span className={field.type === 'text' || field.type === 'textarea' || field.type === 'number' ? 'mono break settings-readonly-value' : 'settings-readonly-value'}>
                      {displayValue(field, value ?? field.default)}
                    </span>
                    {isDefault && <span className="muted settings-default-mark"> (default)</span>}
                  </dd>
                </div>
              );
            })}
          </dl>
        </section>
      ))}
      {secrets.length > 0 && (
        <section className="card settings-section" aria-labelledby={`${base}-secrets`}>
          <div className="card-header"><h2 id={`${base}-secrets`}>Secrets</h2></div>
          <div className="card-padded">
            <p className="muted">This extension uses {secrets.length === 1 ? 'a secret' : `${secrets.length} secrets`}. Only admins can see whether {secrets.length === 1 ? 'it is' : 'they are'} set or change {secrets.length === 1 ? 'it' : 'them'}.</p>
            <ul className="chip-list" aria-label="Secret settings">
              {secrets.map((f) => <li key={f.key} className="chip">{f.label}</li>)}
            </ul>
          </div>
        </section>
      )}
    </>
  );
}
