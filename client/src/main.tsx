import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/app';
import { startBrowserTracing } from './lib/tracing';
import './styles/app.css';

// The tracing SDK loads beside the first render, which does not wait for it; an action taken before
// it has loaded waits for it (src/lib/tracing.ts).
void startBrowserTracing();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
