/**
 * The browser globals the dashboard's page callbacks touch. Playwright runs those callbacks in Chromium (it sends
 * their source), while this program is typed for Node, without the DOM lib; so each callback reads
 * `globalThis as unknown as DashboardWindow`. Types only: a callback cannot use a value of its module.
 */
export interface DashboardWindow {
  document: {
    querySelector(selector: string): { textContent: string | null } | null;
    body: { scrollWidth: number };
  };
  /** set by the test on the page it loaded: still there means no reload happened */
  __loaded?: string;
  /** the dashboard's script counts each redraw from its event stream (src/manager/dashboard/client.ts) */
  __updates?: number;
}
