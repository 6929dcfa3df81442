import type { CSSProperties } from 'react';
import { formatDuration, hopName, type Waterfall } from '../model/waterfall';

/**
 * The spans of a trace, one row each: the process and the span's name, indented under its parent,
 * and a bar placed and sized on the scale of the whole trace. On a narrow screen the bar goes under
 * the name (app.css), so nothing needs scrolling sideways.
 */
export function TraceWaterfall({ waterfall }: { waterfall: Waterfall }) {
  return (
    <ol className="waterfall" aria-label={`Spans, ${formatDuration(waterfall.total)} in all`}>
      {waterfall.rows.map(({ span, depth, offset, width }) => (
        <li
          key={span.spanId}
          className={`waterfall__row waterfall__row--${span.kind}${span.status === 'error' ? ' waterfall__row--error' : ''}`}
          data-service={span.service}
          data-span={span.name}
        >
          <span className="waterfall__label" style={{ '--depth': Math.min(depth, 12) } as CSSProperties}>
            <span className={`waterfall__service service--${hopName(span)}`}>{hopName(span)}</span>{' '}
            <span className="waterfall__name">{span.name}</span>
          </span>
          <span className="waterfall__track" aria-hidden="true">
            <span className="waterfall__bar" style={{ insetInlineStart: `${offset}%`, width: `${width}%` }} />
          </span>
          <span className="waterfall__duration">
            {formatDuration(span.duration)}
            <span className="visually-hidden">, from {formatDuration((offset / 100) * waterfall.total)}</span>
          </span>
        </li>
      ))}
    </ol>
  );
}
