import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, describeFailure, newIdempotencyKey } from '../lib/api';

export interface SingleFieldFormProps {
  /** The body field the service validates: its rule is shown under the input. */
  readonly name: string;
  readonly label: ReactNode;
  readonly placeholder?: string;
  readonly submitLabel: string;
  readonly sendingLabel: string;
  /** Named in the message shown when the request gets no answer. */
  readonly service: string;
  readonly className?: string;
  /**
   * Sends the value; a rejection is shown in the form, a resolution clears the input. The key is
   * the same for every try of the same value until one succeeds, so a retry after a lost answer
   * does not create the thing twice.
   */
  readonly onSubmit: (value: string, idempotencyKey: string) => Promise<void>;
}

/**
 * A one-input form that leaves validation to the service: while a request is out the submit
 * button is disabled, and a refusal is shown under the input in the service's own words.
 */
export function SingleFieldForm({
  name,
  label,
  placeholder,
  submitLabel,
  sendingLabel,
  service,
  className,
  onSubmit,
}: SingleFieldFormProps) {
  const [value, setValue] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const attempt = useRef<{ value: string; key: string } | null>(null);
  const id = useId();
  const messageId = `${id}-message`;

  // Never rejects: a failure is shown in the form (so the handler may drop the promise).
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (sending) return;
    setSending(true);
    setError(null);
    const sent = value;
    if (attempt.current?.value !== sent) attempt.current = { value: sent, key: newIdempotencyKey() };
    try {
      await onSubmit(sent, attempt.current.key);
      attempt.current = null;
      // Whatever was typed while the request was out is the next message: keep it.
      setValue((current) => (current === sent ? '' : current));
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
    }
  };

  const fieldMessage = error instanceof ApiError ? error.fieldMessage(name) : undefined;
  const message = fieldMessage ?? (error === null ? undefined : describeFailure(error, service));

  return (
    <form
      className={['single-field-form', className].filter(Boolean).join(' ')}
      onSubmit={(event) => void submit(event)}
      noValidate
    >
      <label className="single-field-form__label" htmlFor={id}>
        {label}
      </label>
      <div className="single-field-form__row">
        <input
          id={id}
          name={name}
          value={value}
          placeholder={placeholder}
          autoComplete="off"
          aria-invalid={fieldMessage === undefined ? undefined : true}
          aria-describedby={messageId}
          onChange={(event) => {
            setValue(event.target.value);
            if (fieldMessage !== undefined) setError(null);
          }}
        />
        <button type="submit" disabled={sending}>
          {sending ? sendingLabel : submitLabel}
        </button>
      </div>
      <p id={messageId} className="single-field-form__message" aria-live="polite">
        {message}
      </p>
    </form>
  );
}
