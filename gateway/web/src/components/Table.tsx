/**
 * Data tables. `DataTable` takes columns and rows and renders a semantic `<table>` with a caption
 * (visually hidden unless `showCaption`), inside a scrollable region keyboard users can focus.
 * Cells are whatever `render` returns; `align: 'end'` for numbers. Give every table a `caption`
 * (screen readers announce it). Below 640 px each row becomes a card: the first column is its
 * title, every other cell is labelled with its column's header (or `label`), and columns with
 * `className: 'hide-narrow'` are left out. Explicit ARIA table roles keep the semantics when the
 * cells are laid out as blocks.
 *
 * @example
 *   <DataTable caption="Installed extensions" rows={installs} rowKey={(i) => i.id} columns={[
 *     { header: 'Extension', render: (i) => <strong>{i.extensionName}</strong> },
 *     { header: 'Version', render: (i) => i.version },
 *     { header: 'Status', render: (i) => <Badge tone={statusTone(i.status)}>{i.status}</Badge> },
 *   ]} />
 */
import type { ReactNode } from 'react';

export interface Column<T> {
  header: ReactNode;
  /** The cell's label in the narrow card layout when `header` is not a plain string. */
  label?: string;
  render: (row: T) => ReactNode;
  align?: 'start' | 'end';
  /** Extra class on th and td, e.g. 'cell-actions', 'cell-mono', 'hide-narrow' (hidden below 640 px). */
  className?: string;
}

export interface DataTableProps<T> {
  caption: string;
  showCaption?: boolean;
  columns: Array<Column<T>>;
  rows: readonly T[];
  rowKey: (row: T) => string;
}

export function DataTable<T>({ caption, showCaption = false, columns, rows, rowKey }: DataTableProps<T>) {
  const cls = (c: Column<T>) => [c.align === 'end' ? 'align-end' : '', c.className ?? ''].filter(Boolean).join(' ') || undefined;
  const labelOf = (c: Column<T>, i: number) => (i === 0 ? undefined : c.label ?? (typeof c.header === 'string' ? c.header : undefined));
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table className="table" role="table">
        <caption className={showCaption ? 'table-caption' : 'visually-hidden'}>{caption}</caption>
        <thead role="rowgroup">
          <tr role="row">{columns.map((c, i) => <th key={i} role="columnheader" scope="col" className={cls(c)}>{c.header}</th>)}</tr>
        </thead>
        <tbody role="rowgroup">
          {rows.map((row) => (
            <tr key={rowKey(row)} role="row">
              {columns.map((c, i) => <td key={i} role="cell" className={cls(c)} data-label={labelOf(c, i)}>{c.render(row)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Dates from the API (ISO strings) for people: "3 Mar 2026, 14:05". */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** "5 minutes ago", "in 3 days"; with the exact date as a tooltip: <time dateTime={v} title={formatDate(v)}>{relativeTime(v)}</time>. */
export function relativeTime(value: string, now = Date.now()): string {
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [['year', 31_536_000], ['month', 2_592_000], ['day', 86_400], ['hour', 3_600], ['minute', 60]];
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of units) if (Math.abs(seconds) >= size) return rtf.format(Math.round(seconds / size), unit);
  return rtf.format(seconds, 'second');
}
