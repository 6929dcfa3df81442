// What the app may use of the services panel.
export { ServicesPage } from './components/services-page';
