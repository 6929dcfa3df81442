// What the app may use of the trace view.
export { TracePage } from './components/trace-page';
