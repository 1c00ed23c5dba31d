import { type ColumnRole, roleOf, toRawContact } from '../../contacts/columns.js';
import type { RawContact } from '../../contacts/raw-contact.js';
import { link } from '../../net/request-template.js';
import { isObject } from '../../util/json.js';
import { type Path, parsePath, select } from '../../util/json-path.js';
import type { FieldsConfig, PhoneConfig } from './schema.js';

/** Turns one record of a response into a contact. */
export type Mapper = (record: unknown) => RawContact;

type Scalar = string | number | boolean;
const isScalar = (value: unknown): value is Scalar =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** Epoch seconds are told from milliseconds by size: 1e11 ms is 1973, 1e11 s is year 5138. */
function epoch(value: unknown): unknown {
  const number = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof number === 'number') return number < 1e11 ? Math.round(number * 1000) : number;
  return value;
}

const NUMBER_KEYS = ['value', 'number', 'phone', 'phoneNumber', 'phone_number', 'e164', 'formatted'].map(
  parsePath,
);
const LABEL_KEYS = ['label', 'type', 'kind', 'name'].map(parsePath);

/** The last field name of a path, as a label: `properties.mobilephone` → `mobilephone`. */
function lastName(path: Path): string | undefined {
  for (let i = path.segments.length - 1; i >= 0; i--) {
    const segment = path.segments[i]!;
    if (segment.kind === 'key') return segment.key;
  }
  return undefined;
}

interface PhoneSpec {
  readonly path: Path;
  readonly number: readonly Path[];
  readonly label: string | undefined;
  readonly labelPaths: readonly Path[];
}

function phoneSpec(config: PhoneConfig): PhoneSpec {
  if (typeof config === 'string') {
    const path = parsePath(config);
    return { path, number: NUMBER_KEYS, label: lastName(path), labelPaths: LABEL_KEYS };
  }
  const path = parsePath(config.path);
  return {
    path,
    number: config.number ? [parsePath(config.number)] : NUMBER_KEYS,
    label: config.label,
    labelPaths: config.labelPath ? [parsePath(config.labelPath)] : config.label ? [] : LABEL_KEYS,
  };
}

function firstScalar(record: unknown, paths: readonly Path[]): Scalar | undefined {
  for (const path of paths) {
    const value = select(record, path).find(isScalar);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Reads every scalar field of the record by its name, the way CSV headers are read. */
function byNames(record: unknown): RawContact {
  const roles: ColumnRole[] = [];
  const values: unknown[] = [];
  if (isObject(record)) {
    for (const [name, value] of Object.entries(record)) {
      const role = roleOf(name);
      for (const item of Array.isArray(value) ? value : [value]) {
        if (!isScalar(item)) continue;
        roles.push(role);
        values.push(role.kind === 'updatedAt' ? epoch(item) : item);
      }
    }
  }
  return toRawContact(roles, values);
}

/** The mapper of a source's `fields`; without them, records are read by their field names. */
export function createMapper(config: FieldsConfig | undefined): Mapper {
  if (!config) return byNames;
  const scalar = (text: string | undefined) => (text === undefined ? undefined : parsePath(text));
  const fields = {
    id: scalar(config.id),
    name: scalar(config.name),
    firstName: scalar(config.firstName),
    lastName: scalar(config.lastName),
    company: scalar(config.company),
    country: scalar(config.country),
    updatedAt: scalar(config.updatedAt),
    deleted: scalar(config.deleted),
  };
  const contactUri = link(config.contactUri);
  const companyUri = link(config.companyUri);
  const phones = (Array.isArray(config.phones) ? config.phones : [config.phones]).map(phoneSpec);
  const custom = Object.entries(config.customData ?? {}).map(
    ([label, path]) => [label, parsePath(path)] as const,
  );

  return (record) => {
    const roles: ColumnRole[] = [];
    const values: unknown[] = [];
    const add = (role: ColumnRole, value: unknown) => {
      if (value === undefined) return;
      roles.push(role);
      values.push(value);
    };
    const id = fields.id ? firstScalar(record, [fields.id]) : undefined;
    add({ kind: 'id' }, id);
    for (const kind of ['name', 'firstName', 'lastName', 'company', 'country'] as const) {
      const path = fields[kind];
      if (path) add({ kind }, firstScalar(record, [path]));
    }
    add({ kind: 'contactUri' }, contactUri?.(record, id));
    add({ kind: 'companyUri' }, companyUri?.(record, id));
    for (const spec of phones) {
      for (const value of select(record, spec.path)) {
        if (isScalar(value)) add({ kind: 'phone', label: spec.label ?? '' }, value);
        else if (isObject(value)) {
          const label = firstScalar(value, spec.labelPaths) ?? spec.label ?? '';
          add({ kind: 'phone', label: String(label) }, firstScalar(value, spec.number));
        }
      }
    }
    for (const [label, path] of custom) {
      const found = select(record, path).filter(isScalar);
      if (found.length > 0) add({ kind: 'custom', label }, found.join(', '));
    }
    if (fields.updatedAt) add({ kind: 'updatedAt' }, epoch(firstScalar(record, [fields.updatedAt])));
    if (fields.deleted) add({ kind: 'deleted' }, firstScalar(record, [fields.deleted]));
    const raw = toRawContact(roles, values);
    // An empty label is no label.
    raw.phones = raw.phones.map((phone) => (phone.label ? phone : { value: phone.value }));
    return raw;
  };
}
