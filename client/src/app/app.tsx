import { lazy, Suspense, useEffect, useRef } from 'react';
import { PostsPage } from '../features/posts';
import { Link, ROUTES, usePath } from './router';
import { ViewBoundary } from './view-boundary';

// The first page is the posts; the other views are loaded when first shown, so that the first
// page's script holds only what it needs (docs/benchmarks.md: its budget, and the test of it).
const EventFlowPage = lazy(() => import('../features/event-flow').then((view) => ({ default: view.EventFlowPage })));
const ServicesPage = lazy(() => import('../features/services').then((view) => ({ default: view.ServicesPage })));
const TracePage = lazy(() => import('../features/traces').then((view) => ({ default: view.TracePage })));

const TITLES: Record<string, string> = {
  [ROUTES.posts]: 'Posts',
  [ROUTES.eventFlow]: 'Event flow',
  [ROUTES.services]: 'Services',
  [ROUTES.trace]: 'Trace',
};
/** The views whose tables want the width of the window. */
const WIDE = new Set<string>([ROUTES.eventFlow, ROUTES.services, ROUTES.trace]);

export function App() {
  const path = usePath();
  const title = TITLES[path];
  const heading = useRef<HTMLHeadingElement>(null);
  const firstView = useRef(true);

  useEffect(() => {
    document.title = `${title ?? 'Not found'} · mini-blog`;
  }, [title]);

  // After a switch of view, a screen reader or keyboard user starts at the new view's heading, as
  // after a page load; the first view keeps the browser's own start.
  useEffect(() => {
    if (firstView.current) {
      firstView.current = false;
      return;
    }
    heading.current?.focus();
  }, [path]);

  return (
    <div className={WIDE.has(path) ? 'layout layout--wide' : 'layout'}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header__inner">
          <Link to={ROUTES.posts} className="brand">
            mini-blog
          </Link>
          <nav aria-label="Views">
            <ul className="nav">
              <li>
                <Link to={ROUTES.posts}>Posts</Link>
              </li>
              <li>
                <Link to={ROUTES.eventFlow}>Event flow</Link>
              </li>
              <li>
                <Link to={ROUTES.services}>Services</Link>
              </li>
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <h1 ref={heading} className="view-title" tabIndex={-1}>
          {title ?? 'Page not found'}
        </h1>
        {path === ROUTES.posts && <PostsPage />}
        <ViewBoundary key={path}>
          <Suspense
            fallback={
              <p className="placeholder" role="status">
                Loading the view…
              </p>
            }
          >
            {path === ROUTES.eventFlow && <EventFlowPage />}
            {path === ROUTES.services && <ServicesPage />}
            {path === ROUTES.trace && <TracePage />}
          </Suspense>
        </ViewBoundary>
        {title === undefined && (
          <section className="card">
            <p>
              There is nothing at this address. <Link to={ROUTES.posts}>Back to the posts</Link>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}
