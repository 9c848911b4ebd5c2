/** Typed keys of the search attributes our workflows write (names from `src/shared/names.ts`). */
import { defineSearchAttributeKey } from '@temporalio/common';
import { searchAttributes } from '../shared/names.ts';

export const sourceSearchAttribute = defineSearchAttributeKey(searchAttributes.source, 'KEYWORD');
export const outcomeSearchAttribute = defineSearchAttributeKey(searchAttributes.outcome, 'KEYWORD');
