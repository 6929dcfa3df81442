import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A few views need no routing library: the path lives in the history API. Paths must not start
 * with an API prefix (`/posts`, `/flow`, `/subscriptions`, `/traces`, the launcher's `/launcher`): the gateway
 * and the ingress route those away from the app.
 */
export const ROUTES = { posts: '/', eventFlow: '/event-flow', services: '/services', trace: '/trace' } as const;

/** The trace view of the trace an event was published in (`CommentCreated:<id>`), or of a trace by its id. */
export function traceRoute(eventId: string): string {
  return `${ROUTES.trace}?event=${encodeURIComponent(eventId)}`;
}

export function traceRouteById(traceId: string): string {
  return `${ROUTES.trace}?id=${encodeURIComponent(traceId)}`;
}

/** The event flow, showing one event of the log. */
export function flowEventRoute(seq: number): string {
  return `${ROUTES.eventFlow}?seq=${seq}`;
}

const NAVIGATED = 'mini-blog:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** A parameter of the address's query string (`?event=...`), which a view reads as the path's. */
export function useSearchParam(name: string): string | null {
  return useSyncExternalStore(subscribe, () => new URLSearchParams(window.location.search).get(name));
}

export function navigate(to: string): void {
  if (to === window.location.pathname + window.location.search) return;
  window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
  window.scrollTo(0, 0);
}

export function Link({ to, ...rest }: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const active = usePath() === to;
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    // Let the browser handle new tabs and windows.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} aria-current={active ? 'page' : undefined} onClick={onClick} {...rest} />;
}
