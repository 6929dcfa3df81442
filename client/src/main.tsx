import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/app';
import { startBrowserTracing } from './lib/tracing';
import './styles/app.css';

// Before the first render: a click's request must find the tracer set up.
startBrowserTracing();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
