/**
 * The live state of the messaging API: every `sms` call is a send that creates a message with a new `requestId`;
 * messages move from ACCEPTED to a final status after a number of polls or an amount of time; sends are counted
 * per `to` so tests can prove an SMS went out once; and "old" messages can be preloaded in bulk.
 */
import { uuidNamespaces } from './generators-messaging.ts';
import { createRandom, hashString, indexedUuid, intBetween, mixSeed, pick } from './random.ts';
import { phoneNumber } from './vocabulary.ts';

export const messageStatuses = [
  'ACCEPTED',
  'BUFFERED',
  'DELIVERED',
  'EXPIRED',
  'REJECTED',
  'UNDELIVERABLE',
] as const;
export type MessageStatus = (typeof messageStatuses)[number];

export const finalMessageStatuses = ['DELIVERED', 'EXPIRED', 'REJECTED', 'UNDELIVERABLE'] as const;
export type FinalMessageStatus = (typeof finalMessageStatuses)[number];

/** True for a status that will not change any more. */
export function isFinalStatus(status: string): status is FinalMessageStatus {
  return (finalMessageStatuses as readonly string[]).includes(status);
}

/** When a message reaches its final status: after `polls` non-final answers, or `ms` after it was sent. */
export interface MessageProgressOptions {
  /** Polls answered with a non-final status before the final one (0 = final on the first poll). Default 1. */
  readonly finalAfterPolls?: number;
  /** Milliseconds after the send from which polls answer the final status. With both set, the first reached wins. */
  readonly finalAfterMs?: number;
}

/** Bulk-created "old" messages, for testing the resolution of many request IDs without sending. */
export interface PreloadOptions {
  readonly count: number;
  /** Every Nth preloaded message is still pending (follows the normal progression); the rest are final at once. */
  readonly pendingEvery?: number;
  /** Every Nth preloaded message has expired: its id answers 404. */
  readonly expiredEvery?: number;
}

/** A message created by a call to `sms`. */
export interface SentMessage {
  readonly requestId: string;
  readonly to: string;
  readonly from: string;
  readonly message: string;
  readonly submitDate: string;
  /** 1 for the first send of this sandbox, 2 for the next… */
  readonly sendNumber: number;
}

interface MessageState {
  readonly requestId: string;
  readonly to: string;
  readonly from: string;
  readonly text: string;
  readonly submittedAtWallMs: number;
  readonly submittedAtMs: number;
  readonly finalAfterPolls: number | undefined;
  readonly finalAfterMs: number | undefined;
  polls: number;
  expired: boolean;
}

/** What tests can see and do. */
export interface MessagingState {
  /** How many times `sms` was called for this `to` (successful sends only). */
  sendCount(to: string): number;
  /** Sends per `to`. */
  sendCounts(): ReadonlyMap<string, number>;
  /** Every send, in order. */
  sends(): readonly SentMessage[];
  /** Creates `count` old messages and returns their request IDs (expired ones included: they answer 404). */
  preload(options: PreloadOptions): readonly string[];
  /** Makes a message answer 404 from now on; false when unknown. */
  expire(requestId: string): boolean;
  /** How many times the message was fetched (0 when unknown). */
  pollCount(requestId: string): number;
  /** The final status the message has or will reach (deterministic per id), or undefined when unknown. */
  finalStatusOf(requestId: string): FinalMessageStatus | undefined;
}

/** The server's side: sending and fetching. */
export interface MessagingStore extends MessagingState {
  send(params: { readonly to: string; readonly from: string; readonly message: string }): SentMessage;
  /** The message as the details endpoint returns it (counts as a poll), or undefined for unknown/expired ids. */
  poll(requestId: string, baseUrl: string): Record<string, unknown> | undefined;
}

/** A messaging store for one sandbox. `now` is the wall clock (ms) used for dates. */
export function createMessagingStore(options: {
  readonly seed: number;
  readonly progress: MessageProgressOptions;
  readonly now?: () => number;
}): MessagingStore {
  const { seed, progress } = options;
  const now = options.now ?? (() => Date.now());
  const messages = new Map<string, MessageState>();
  const sent: SentMessage[] = [];
  const counts = new Map<string, number>();
  let preloaded = 0;

  const finalStatusOf = (requestId: string): FinalMessageStatus => {
    const roll = hashString(requestId) % 100;
    if (roll < 85) return 'DELIVERED';
    if (roll < 90) return 'UNDELIVERABLE';
    if (roll < 95) return 'REJECTED';
    return 'EXPIRED';
  };

  const statusAtPoll = (state: MessageState): MessageStatus => {
    const elapsed = performance.now() - state.submittedAtMs;
    const byPolls = state.finalAfterPolls !== undefined && state.polls > state.finalAfterPolls;
    const byTime = state.finalAfterMs !== undefined && elapsed >= state.finalAfterMs;
    const noRule = state.finalAfterPolls === undefined && state.finalAfterMs === undefined;
    if (byPolls || byTime || noRule) return finalStatusOf(state.requestId);
    // Not final yet: the first answer is ACCEPTED; later ones are BUFFERED for about a third of the ids.
    return state.polls > 1 && hashString(state.requestId) % 3 === 0 ? 'BUFFERED' : 'ACCEPTED';
  };

  return {
    send({ to, from, message }) {
      const sendNumber = sent.length + 1;
      const random = createRandom(mixSeed(seed, hashString('sms'), sendNumber));
      const requestId = indexedUuid(random, uuidNamespaces.sms, sendNumber);
      const submittedAtWallMs = now();
      messages.set(requestId, {
        requestId,
        to,
        from,
        text: message,
        submittedAtWallMs,
        submittedAtMs: performance.now(),
        finalAfterPolls: progress.finalAfterPolls,
        finalAfterMs: progress.finalAfterMs,
        polls: 0,
        expired: false,
      });
      const record: SentMessage = {
        requestId,
        to,
        from,
        message,
        submitDate: new Date(submittedAtWallMs).toISOString(),
        sendNumber,
      };
      sent.push(record);
      counts.set(to, (counts.get(to) ?? 0) + 1);
      return record;
    },
    poll(requestId, baseUrl) {
      const state = messages.get(requestId);
      if (state === undefined || state.expired) return undefined;
      state.polls += 1;
      return messageDetails(seed, state, statusAtPoll(state), baseUrl);
    },
    sendCount: (to) => counts.get(to) ?? 0,
    sendCounts: () => new Map(counts),
    sends: () => [...sent],
    preload({ count, pendingEvery, expiredEvery }) {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const index = preloaded;
        preloaded += 1;
        const random = createRandom(mixSeed(seed, hashString('preloaded'), index));
        const requestId = indexedUuid(random, uuidNamespaces.preloaded, index);
        const pending = pendingEvery !== undefined && (i + 1) % pendingEvery === 0;
        // Old messages were sent days before now, at a deterministic offset.
        const ageMs = (2 + intBetween(random, 0, 30 * 24 * 3600)) * 1000;
        messages.set(requestId, {
          requestId,
          to: phoneNumber(random),
          from: phoneNumber(random),
          text: 'Preloaded message',
          submittedAtWallMs: now() - ageMs,
          submittedAtMs: pending ? performance.now() : performance.now() - ageMs,
          finalAfterPolls: pending ? progress.finalAfterPolls : 0,
          finalAfterMs: pending ? progress.finalAfterMs : undefined,
          polls: 0,
          expired: expiredEvery !== undefined && (i + 1) % expiredEvery === 0,
        });
        ids.push(requestId);
      }
      return ids;
    },
    expire(requestId) {
      const state = messages.get(requestId);
      if (state === undefined) return false;
      state.expired = true;
      return true;
    },
    pollCount: (requestId) => messages.get(requestId)?.polls ?? 0,
    finalStatusOf: (requestId) => (messages.has(requestId) ? finalStatusOf(requestId) : undefined),
  };
}

const errorReasons: Readonly<Record<Exclude<FinalMessageStatus, 'DELIVERED'>, readonly [string, string]>> = {
  EXPIRED: ['SMS-CAR-430', 'Message expired before it could be delivered'],
  REJECTED: ['SMS-CAR-411', 'Destination number rejected by the carrier'],
  UNDELIVERABLE: ['SMS-CAR-413', 'Destination handset unreachable'],
};
const mccmncs = ['310260', '310410', '311480', '302720', '26201', '20801'] as const;
const unitPrice = 0.0075;

/** The full message object of the details endpoint, as of a poll that found `status`. */
function messageDetails(
  seed: number,
  state: MessageState,
  status: MessageStatus,
  baseUrl: string,
): Record<string, unknown> {
  const random = createRandom(mixSeed(seed, hashString(state.requestId)));
  const sentMs = state.submittedAtWallMs + intBetween(random, 200, 3000);
  const doneMs = sentMs + intBetween(random, 500, 20_000);
  const sentDate = status === 'ACCEPTED' ? null : new Date(sentMs).toISOString();
  const final = isFinalStatus(status);
  const doneDate = final ? new Date(doneMs).toISOString() : null;
  const failed = final && status !== 'DELIVERED';
  const [errorCode, errorReason] = failed ? errorReasons[status] : [null, null];
  const size = partCount(state.text);
  const priceEffective = '2024-01-01T00:00:00.000Z';
  const parts = Array.from({ length: size }, (_, index) => ({
    partId: String(index + 1),
    deliveryState: !final ? (sentDate === null ? 'QUEUED' : 'SENT') : failed ? 'FAILED' : 'DELIVERED',
    statusText: !final ? 'In transit' : failed ? errorReason : 'Delivered to handset',
    currency: 'USD',
    price: unitPrice.toFixed(4),
    priceEffective,
    sentDate,
    doneDate,
    errorCode,
  }));
  return {
    requestId: state.requestId,
    status,
    submitDate: new Date(state.submittedAtWallMs).toISOString(),
    sentDate,
    doneDate,
    errorCode,
    errorReason,
    from: state.from,
    to: state.to,
    href: `${baseUrl}/messaging/v1/messages/${state.requestId}`,
    mccmnc: pick(random, mccmncs),
    ttid: String(intBetween(random, 10_000, 99_999)),
    overallPrice: (unitPrice * size).toFixed(4),
    priceEffective,
    reference: intBetween(random, 0, 3) === 0 ? null : `ref-${state.requestId.slice(0, 8)}`,
    size,
    parts,
  };
}

/** SMS segments: 160/153 GSM characters, 70/67 for anything else. */
function partCount(text: string): number {
  const gsm = /^[\x20-\x7e\n\r]*$/.test(text);
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  const length = [...text].length;
  return length <= single ? 1 : Math.ceil(length / multi);
}
