import { TESTS } from '../tests.js';
import { dataFilters } from './data.js';
import { numberFilters } from './numbers.js';
import { sequenceFilters, setRegistry } from './sequences.js';
import { stringFilters } from './strings.js';
import { params, type FilterFn } from './support.js';
import { Undefined, truthy } from '../values.js';

// Parameter lists of the filters below (allocated once, not per call).
const P_DEFAULT: [string, unknown?][] = [['default_value', ''], ['boolean', false]];

/** do_default: Undefined (or, with boolean=true, any falsy value) is replaced. */
function defaultFilter(_s: unknown, v: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
  if (kwargs.size === 0 && args.length <= 2) {
    const dflt = args.length > 0 ? args[0] : '';
    return v instanceof Undefined || (args.length > 1 && truthy(args[1]) && !truthy(v)) ? dflt : v;
  }
  const [dflt, boolean] = params('default', args, kwargs, P_DEFAULT);
  return v instanceof Undefined || (truthy(boolean) && !truthy(v)) ? dflt : v;
}

/** Jinja2 3.1's builtin filters plus the reference's from_json, json_encode, base64_encode, base64_decode. */
export const FILTERS: Record<string, FilterFn> = Object.assign(Object.create(null) as Record<string, FilterFn>, {
  ...stringFilters,
  ...sequenceFilters,
  ...numberFilters,
  ...dataFilters,
  default: defaultFilter,
  d: defaultFilter,
});

setRegistry({ filters: FILTERS, tests: TESTS });

export type { FilterFn };
