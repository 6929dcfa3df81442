import { useState, type FormEvent } from 'react';
import type { FaultSwitches } from '@mini-blog/common/events';
import { ApiError } from '../../../lib/api';
import { switches } from '../api/services-api';
import type { ServiceRow } from '../model/service-rows';

/** What one click sets: a latency and a slow log long enough to see, short of any timeout. */
const DELAY_MS = 500;
const SLOW_LOG_MS = 200;

function refusal(error: unknown): string {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403))
    return 'The admin credential was refused. It is the first line of data/credentials/admin.';
  if (error instanceof ApiError) return error.message;
  return 'No answer from the launcher.';
}

/** Asks for the admin credential, and keeps it only once the launcher accepts it. */
function CredentialForm({ keep }: { keep: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = value.trim();
    if (token === '') return setError('Paste the admin credential first.');
    setChecking(true);
    try {
      await switches.check(token);
      keep(token);
    } catch (err) {
      setError(refusal(err));
    } finally {
      setChecking(false);
    }
  };
  return (
    <form className="single-field-form" onSubmit={(event) => void submit(event)} noValidate>
      <label className="single-field-form__label" htmlFor="admin-token">
        Admin credential
      </label>
      <div className="single-field-form__row">
        <input
          id="admin-token"
          type="password"
          autoComplete="off"
          value={value}
          aria-invalid={error !== null}
          aria-describedby="admin-token-message"
          onChange={(event) => setValue(event.target.value)}
        />
        <button type="submit" disabled={checking}>
          Unlock
        </button>
      </div>
      <p id="admin-token-message" className="single-field-form__message" role={error ? 'alert' : undefined}>
        {error ?? ''}
      </p>
    </form>
  );
}

/**
 * The fault switches, one click each, each undone with one click, and one button that undoes them
 * all. They need the operator's admin credential (kept for this tab only); the launcher offers
 * them only when started with `npm start -- --faults`.
 */
export function BreakItPanel({
  rows,
  faults,
  token,
  keep,
  forget,
  run,
  busy,
  error,
}: {
  rows: readonly ServiceRow[];
  faults: FaultSwitches | undefined;
  token: string | null;
  keep: (token: string) => void;
  forget: () => void;
  run: (change: () => Promise<unknown>) => void;
  busy: boolean;
  error: unknown;
}) {
  const subscribers = rows.filter((row) => row.process !== null && row.subscription !== null);
  const slowMs = faults?.log.slowMs ?? 0;
  return (
    <section aria-labelledby="break-it-heading" className="card break-it">
      <div className="section-header">
        <h2 id="break-it-heading">Break it</h2>
        {token !== null && (
          <button type="button" className="button--secondary" onClick={forget}>
            Forget the credential
          </button>
        )}
      </div>
      <p>
        Stop a service, hold or slow down what it is delivered, make it refuse its events, or slow the log, and watch
        the lag grow, events park and comments stay pending, then recover once undone.
      </p>
      {token === null ? (
        <CredentialForm keep={keep} />
      ) : (
        <>
          {error !== null && (
            <p className="notice notice--error" role="alert">
              {refusal(error)}
            </p>
          )}
          <button type="button" disabled={busy} onClick={() => run(() => switches.clearAll(token))}>
            Undo everything
          </button>
          <ul className="break-it__switches">
            {subscribers.map(({ name, faults: on }) => (
              <li key={name} className="break-it__row" data-subscriber={name}>
                <span className="break-it__name">{name}</span>
                <button
                  type="button"
                  className={on.paused ? undefined : 'button--secondary'}
                  disabled={busy}
                  onClick={() => run(() => switches.deliveries(token, name, { paused: !on.paused }))}
                >
                  {on.paused ? 'Resume' : 'Pause'} <span className="visually-hidden">{name}</span>
                </button>
                <button
                  type="button"
                  className={on.latencyMs > 0 ? undefined : 'button--secondary'}
                  disabled={busy}
                  onClick={() =>
                    run(() => switches.deliveries(token, name, { latencyMs: on.latencyMs > 0 ? 0 : DELAY_MS }))
                  }
                >
                  {on.latencyMs > 0 ? 'No delay' : `Delay ${DELAY_MS} ms`}{' '}
                  <span className="visually-hidden">{name}</span>
                </button>
                <button
                  type="button"
                  className={on.failing ? undefined : 'button--secondary'}
                  disabled={busy}
                  onClick={() =>
                    run(() =>
                      on.failing
                        ? switches.clearDeliveries(token, name)
                        : switches.deliveries(token, name, { failing: true }),
                    )
                  }
                >
                  {on.failing ? 'Stop failing' : 'Fail'} <span className="visually-hidden">{name}</span>
                </button>
              </li>
            ))}
            <li className="break-it__row">
              <span className="break-it__name">the log</span>
              <button
                type="button"
                className={slowMs > 0 ? undefined : 'button--secondary'}
                disabled={busy}
                onClick={() =>
                  run(() => (slowMs > 0 ? switches.clearLog(token) : switches.log(token, { slowMs: SLOW_LOG_MS })))
                }
              >
                {slowMs > 0 ? 'Log back to normal' : `Slow the log (${SLOW_LOG_MS} ms)`}
              </button>
            </li>
          </ul>
        </>
      )}
    </section>
  );
}
