/**
 * Where a case's disruptions land: each worker kill and Postgres stop at a step of the case's progress (data
 * responses served in full, `progress.ts`), drawn from the run's seed — the same seed, case and sizes give the same
 * points. Points fall within the first 80 % of the call-record pages, so every one of them is reached while the big
 * resource is still loading.
 */
import { createRandom, hashString, mixSeed } from '../../src/sandbox/random.ts';

export type DisruptionKind = 'kill' | 'postgres-stop';

/** One disruption: what, and at which step of progress (counted from the case's start). */
export interface Disruption {
  readonly kind: DisruptionKind;
  readonly atStep: number;
}

export interface SchedulePlan {
  readonly seed: number;
  readonly caseName: string;
  readonly kills: number;
  readonly postgresStops: number;
  /** Pages of the paged call records (the case's longest resource). */
  readonly callRecordPages: number;
}

/** The case's disruptions in the order they fire (by step; kills and stops interleaved as drawn). */
export function planDisruptions(plan: SchedulePlan): readonly Disruption[] {
  const random = createRandom(mixSeed(plan.seed, hashString(`chaos:${plan.caseName}`)));
  const last = Math.max(1, Math.floor(plan.callRecordPages * 0.8));
  const draw = (kind: DisruptionKind): Disruption => ({
    kind,
    atStep: 1 + Math.floor(random() * last),
  });
  const disruptions = [
    ...Array.from({ length: plan.kills }, () => draw('kill')),
    ...Array.from({ length: plan.postgresStops }, () => draw('postgres-stop')),
  ];
  return disruptions.sort((a, b) => a.atStep - b.atStep);
}
