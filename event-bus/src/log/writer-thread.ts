import { parentPort, workerData } from 'node:worker_threads';
import { LogWriter, type WriteRequest } from './log-writer';

// The writer thread: one LogWriter, one request at a time, each answered with its reply.
const writer = new LogWriter((workerData as { dataDir: string }).dataDir);
parentPort!.on('message', (request: WriteRequest | 'close') => {
  if (request === 'close') {
    writer.close();
    parentPort!.close();
    return;
  }
  parentPort!.postMessage(writer.write(request));
});
