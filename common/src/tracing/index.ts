export * from './event-spans';
export * from './recent-spans';
export * from './routes';
export * from './setup';
