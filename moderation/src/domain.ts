import { assertNever, type CommentCreated, type Envelope, type NewEvent } from '@mini-blog/common/events';
import type { Handled } from '@mini-blog/common/registry';
import { blockedForms, displayOrders, joinsWord, readingsOf } from './skeleton';

export type Verdict = 'approved' | 'rejected';

/** A code point of a text as a reader reads it: its readings, and whether it joins the word around it. */
interface Unit {
  readonly readings: readonly string[];
  readonly joins: boolean;
}

/** The seen code points of a text (what is not seen reads as nothing and is left out). */
function unitsOf(text: string): Unit[] {
  const units: Unit[] = [];
  for (const char of text) {
    const readings = readingsOf(char);
    if (readings.length > 0) units.push({ readings, joins: joinsWord(char, readings) });
  }
  return units;
}

/** Whether units from `start` on spell `word` from `offset` on, ending at a unit that does not join a next one. */
function spells(units: readonly Unit[], start: number, word: string, offset: number): boolean {
  const unit = units[start];
  if (!unit) return false;
  return unit.readings.some((reading) => {
    if (!word.startsWith(reading, offset)) return false;
    const reached = offset + reading.length;
    if (reached === word.length) return start + 1 === units.length || !units[start + 1]!.joins;
    return spells(units, start + 1, word, reached);
  });
}

/**
 * Whether the text holds this skeleton as a whole word: a run of code points whose readings make
 * it exactly, with no code point that joins a word just before or after it ("oranges" is another
 * word; "orange2", "orange's" and "0range" hold it).
 */
function holdsWord(units: readonly Unit[], word: string): boolean {
  for (let start = 0; start < units.length; start++) {
    if (start > 0 && units[start - 1]!.joins) continue;
    if (spells(units, start, word, 0)) return true;
  }
  return false;
}

/**
 * Rejects a text that holds a blocked word as a whole word, both compared by their confusable
 * skeletons (`skeleton.ts`: "Orange!", "ｏｒａｎｇｅ", "оrаngе" in Cyrillic, "0range", "or\u00adange",
 * "🅾🆁🅰🅽🅶🅴"), in any order a reader may see it in ("\u202eeg\u202enaro" shows "orange"), but
 * not a longer word that starts with it ("oranges").
 */
export function createModerator(blockedWords: readonly string[]): (content: string) => Verdict {
  const blocked = [...new Set(blockedWords.flatMap(blockedForms))];
  return (content) =>
    displayOrders(content).some((order) => {
      const units = unitsOf(order);
      return blocked.some((word) => holdsWord(units, word));
    })
      ? 'rejected'
      : 'approved';
}

export function commentModerated(comment: CommentCreated, status: Verdict): NewEvent<'CommentModerated'> {
  return { type: 'CommentModerated', id: `CommentModerated:${comment.id}`, data: { ...comment, status } };
}

/** Moderation keeps no state of its own: every new comment gets exactly one verdict, by its id. */
export function apply(moderate: (content: string) => Verdict, event: Envelope<Handled<'moderation'>>): NewEvent[] {
  switch (event.type) {
    case 'CommentCreated':
      return [commentModerated(event.data, moderate(event.data.content))];
    default:
      return assertNever(event.type);
  }
}
