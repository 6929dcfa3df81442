/** Turns a service's JSON log line into one short line for a person: `posts | INFO listening port=4000`. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'service', 'msg']);

export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(record)
      .filter(([key]) => !HIDDEN.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const level = LEVELS[Number(record.level)] ?? String(record.level ?? '');
    return `${level.padEnd(5)} ${String(record.msg ?? '')}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}
