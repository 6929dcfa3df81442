// What the app may use of the event flow.
export { EventFlowPage } from './components/event-flow-page';
