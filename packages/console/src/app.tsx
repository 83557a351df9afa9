import { ErrorBoundary, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { loginRequired, signOut } from './auth.js';
import { usePoll } from './hooks.js';
import type { NowResponse } from './types.js';
import { BASE, href } from './ui.js';
import { Activations } from './views/activations.js';
import { Execution, Executions } from './views/executions.js';
import { Findings } from './views/findings.js';
import { Images } from './views/images.js';
import { Local } from './views/local.js';
import { Now } from './views/now.js';
import { Parameters } from './views/parameters.js';

const VIEWS = [
  { path: '', label: 'Now' },
  { path: 'executions', label: 'Executions' },
  { path: 'findings', label: 'Findings' },
  { path: 'images', label: 'Images' },
  { path: 'parameters', label: 'Parameters' },
  { path: 'activations', label: 'Activations' },
];

function Nav({ local }: { local: boolean }) {
  const { path } = useLocation();
  const views = local ? [...VIEWS, { path: 'local', label: 'Local' }] : VIEWS;
  const current = (p: string) => (p === '' ? path === BASE || path === BASE.replace(/\/$/, '') : path.startsWith(href(p)));
  return (
    <header>
      <nav aria-label="Console views" data-testid="nav">
        <span class="brand">opsauto</span>
        {views.map((v) => (
          <a key={v.path} href={href(v.path)} aria-current={current(v.path) ? 'page' : undefined} data-testid={`nav-${v.path || 'now'}`}>
            {v.label}
          </a>
        ))}
        {loginRequired ? (
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        ) : null}
      </nav>
    </header>
  );
}

function NotFound() {
  return (
    <section data-testid="view-not-found">
      <h1>No such view</h1>
      <p>
        This address is not a console view. Go to <a href={href('')}>Now</a>.
      </p>
    </section>
  );
}

/** The console: a nav bar and the view of the current address, each view under the base path. */
export function App() {
  // Asked once (and polled slowly) only to learn whether the Local view applies; the Now view polls on its own.
  const stage = usePoll<NowResponse>('/now', 30_000);
  return (
    <LocationProvider scope={BASE}>
      <Nav local={stage.data?.local === true} />
      <main>
        <ErrorBoundary>
          <Router>
            <Route path={href('')} component={Now} />
            <Route path={href('executions')} component={Executions} />
            <Route path={href('executions/:id')} component={Execution} />
            <Route path={href('findings')} component={Findings} />
            <Route path={href('images')} component={Images} />
            <Route path={href('parameters')} component={Parameters} />
            <Route path={href('activations')} component={Activations} />
            <Route path={href('local')} component={Local} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </LocationProvider>
  );
}
