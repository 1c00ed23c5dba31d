// contacts: generates the contacts CSV (streamed) with ~2 Swiss, German or Austrian numbers each in
// mixed human formats; keeps up to 150,000 known hits (international digits, no "+") and as many
// misses (valid numbers in area codes no contact uses).
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../support/children.js';
import { type Context, SEED } from '../support/context.js';
import { prng } from '../support/numbers.js';
import { failed } from '../support/report.js';
import { defineScenario } from './types.js';

export interface Hit {
  /** International digits without "+". */
  readonly number: string;
  readonly id: string;
  readonly name: string;
  /** The field the number is in. */
  readonly by: 'phone' | 'mobile';
  /** How the number is written in the CSV. */
  readonly written: string;
}

export interface ContactsResult {
  readonly contacts: number;
  readonly seed: number;
  readonly version: number;
  readonly numbers: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly hitsFile: string;
  readonly missesFile: string;
}

const FIRST = (
  'Anna,Lukas,Sophie,Noah,Mia,Leon,Lea,Elias,Laura,Jonas,Léa,Luca,Chiara,Matteo,Julia,Felix,' +
  'Sarah,David,Lena,Simon,Nina,Marco,Sandra,Thomas,Andrea,Stefan,Martina,Peter,Claudia,' +
  'Daniel,Maximilian,Hannah,Emma,Paul,Jakob,Valentina,François,Chloé,Nicolò,Jürg,Ursula,Beat,' +
  'René,Zoë,Heidi,Urs,Reto,Corinne,Jörg,Sören,Gülsen,Aleksandar,Fatima,Mehmet'
).split(',');
const LAST = (
  'Müller,Meier,Schmid,Keller,Weber,Huber,Schneider,Meyer,Steiner,Fischer,Gerber,Brunner,' +
  'Baumann,Frei,Zimmermann,Moser,Widmer,Wyss,Graf,Roth,Bauer,Wagner,Becker,Schulz,Hoffmann,' +
  'Koch,Richter,Wolf,Schröder,Neumann,Gruber,Pichler,Hofer,Eder,Lang,Berger,Fuchs,Weiss,' +
  "Rossi,Bianchi,Dubois,Favre,Rochat,Bühler,Käser,Zürcher,Lüthi,von Allmen,De Luca,D'Amico," +
  'Yılmaz,Petrović,Nguyen,Schäfer,Krämer,Öztürk'
).split(',');
const COMPANY_FORMS: ((l: string, l2: string) => string)[] = [
  (l) => `${l} AG`,
  (l) => `${l} & Partner GmbH`,
  (l) => `Treuhand ${l}`,
  (l) => `Bäckerei ${l}`,
  (l, l2) => `${l}, ${l2} & Co.`,
  (l) => `${l} Immobilien AG`,
  (l) => `Garage ${l} "Zentrum"`,
  (l) => `Praxis Dr. ${l}`,
  (l) => `${l} Elektro GmbH`,
  (l) => `${l} Sanitär KG`,
];

type Area = readonly [area: string, subscriberDigits: number];
type Country = 'CH' | 'DE' | 'AT';

/** "21:7 22:7" → [["21", 7], ["22", 7]]: area code (national, without the trunk 0) and subscriber digits. */
const areas = (text: string): Area[] =>
  text.split(' ').map((entry) => [entry.split(':')[0] ?? '', Number(entry.split(':')[1])] as const);

/** Numbering plans used. `miss`: valid numbers in area codes that no contact uses. */
const PLANS: Record<Country, { cc: string; fixed: Area[]; mobile: Area[]; miss: Area[] }> = {
  CH: {
    cc: '41',
    fixed: areas('21:7 22:7 24:7 26:7 27:7 41:7 43:7 44:7 52:7 55:7 56:7 61:7 62:7 71:7 81:7 91:7'),
    mobile: areas('76:7 77:7 78:7 79:7'),
    miss: areas('31:7 32:7 33:7 34:7 75:7'),
  },
  DE: {
    cc: '49',
    fixed: areas('30:8 40:8 89:8 69:7 211:7'),
    mobile: areas('151:8 152:8 171:7 176:8'),
    miss: areas('221:7 711:7 172:7'),
  },
  AT: {
    cc: '43',
    fixed: areas('1:7 316:6 512:6 662:6'),
    mobile: areas('664:7 676:7 699:8 650:7'),
    miss: areas('463:6 732:6 660:7'),
  },
};

/**
 * The k-th number of a plan list: area k mod n, and a subscriber number that is a bijection of
 * floor(k / n) over 2…9 followed by digits, so that no two k give the same number.
 */
function planNumber(list: readonly Area[], k: number): { area: string; subscriber: string } {
  const index = k % list.length;
  const [area, length] = list[index]!;
  const j = Math.floor(k / list.length);
  const span = 8 * 10 ** (length - 1);
  if (j >= span) throw new Error(`numbering plan exhausted for area ${area}`);
  const subscriber = String(2 * 10 ** (length - 1) + ((j * 7919 + 104_729 + index * 1_234_567) % span));
  return { area, subscriber };
}

/** Groups digits the way people write them: "552 20 00", "1234 5678", "123 45 67". */
function grouped(s: string, style: 'ch' | 'de' | 'at'): string {
  if (style === 'ch' && s.length === 7) return `${s.slice(0, 3)} ${s.slice(3, 5)} ${s.slice(5)}`;
  if (s.length === 8) return `${s.slice(0, 4)} ${s.slice(4)}`;
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}

function formatCH(area: string, subscriber: string, pick: number): string {
  const g = grouped(subscriber, 'ch');
  switch (pick) {
    case 0:
      return `0${area} ${g}`;
    case 1:
      return `+41 ${area} ${g}`;
    case 2:
      return `0041 (0)${area} ${g}`;
    case 3:
      return `+41 (0)${area} ${g}`;
    case 4:
      return `0${area}${subscriber}`;
    case 5:
      return `0${area}/${g}`;
    case 6:
      return `+41${area}${subscriber}`;
    default:
      return `0${area} ${g} ext. ${10 + (pick % 90)}`;
  }
}

function formatDE(area: string, subscriber: string, pick: number): string {
  const g = grouped(subscriber, 'de');
  switch (pick) {
    case 0:
      return `0${area}/${subscriber}`;
    case 1:
      return `+49 (0)${area} ${g}`;
    case 2:
      return `0${area} ${g}`;
    case 3:
      return `0049 ${area} ${subscriber}`;
    case 4:
      return `+49 ${area} ${subscriber.slice(0, 4)}-${subscriber.slice(4)}`;
    case 5:
      return `0${area} / ${subscriber}`;
    case 6:
      return `+49${area}${subscriber}`;
    default:
      return `0${area}-${subscriber} DW ${10 + (pick % 90)}`;
  }
}

function formatAT(area: string, subscriber: string, pick: number): string {
  const g = grouped(subscriber, 'at');
  switch (pick) {
    case 0:
      return `0${area} ${g}`;
    case 1:
      return `+43 ${area} ${g}`;
    case 2:
      return `0043 (0)${area} ${subscriber}`;
    case 3:
      return `0${area}/${subscriber}`;
    case 4:
      return `+43 (0) ${area} ${g}`;
    case 5:
      return `0${area}${subscriber}`;
    case 6:
      return `+43${area}${subscriber}`;
    default:
      return `0${area} ${g} Durchwahl ${10 + (pick % 90)}`;
  }
}

const FORMAT: Record<Country, (area: string, subscriber: string, pick: number) => string> = {
  CH: formatCH,
  DE: formatDE,
  AT: formatAT,
};

export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function ascii(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase();
}

/**
 * Known hits: 15% of the contacts, at most 150,000; as many misses. The lookup loads send each once
 * in a run at the rates measured so far (no cache can stand in for the lookup).
 */
const hitCount = (contacts: number): number => Math.min(150_000, Math.floor((contacts * 15) / 100));

async function generateContacts(ctx: Context): Promise<ContactsResult> {
  const { csv, csvMeta, work } = ctx.paths;
  const CONTACTS = ctx.options.contacts;
  const HITS = hitCount(CONTACTS);
  const meta = { contacts: CONTACTS, seed: SEED, version: 2 };
  if (ctx.options.reuseCsv && existsSync(csv) && existsSync(csvMeta)) {
    const previous = JSON.parse(readFileSync(csvMeta, 'utf8')) as ContactsResult;
    if (
      previous.contacts === meta.contacts &&
      previous.seed === meta.seed &&
      previous.version === meta.version
    ) {
      log(`reusing ${csv} (--reuse-csv)`);
      return previous;
    }
  }
  const started = performance.now();
  const random = prng(SEED);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const counters: Record<Country, { fixed: number; mobile: number }> = {
    CH: { fixed: 0, mobile: 0 },
    DE: { fixed: 0, mobile: 0 },
    AT: { fixed: 0, mobile: 0 },
  };
  const hitEvery = Math.floor(CONTACTS / HITS);
  const hits: Hit[] = [];
  let numbers = 0;

  const out = createWriteStream(csv, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('id,first_name,last_name,company,phone,mobile,email,country\n');

  let chunk = '';
  for (let i = 0; i < CONTACTS; i++) {
    const r = random();
    const country: Country = r < 0.5 ? 'CH' : r < 0.8 ? 'DE' : 'AT';
    const plan = PLANS[country];
    const format = FORMAT[country];
    const first = pick(FIRST);
    const last = pick(LAST);
    const companyRoll = random();
    const company = companyRoll < 0.3 ? '' : pick(COMPANY_FORMS)(pick(LAST), last);

    const main = planNumber(plan.fixed, counters[country].fixed++);
    // 1 in 20 written with an extension (formats 7+), the rest spread over the common forms.
    const mainPick = random() < 0.05 ? 7 + int(90) : int(7);
    const phone = format(main.area, main.subscriber, mainPick);
    numbers++;

    // ~85% one mobile, ~5% two in the mobile field, ~10% none.
    let mobile = '';
    let mobileDigits: string | undefined;
    const mobileRoll = random();
    if (mobileRoll < 0.9) {
      const m = planNumber(plan.mobile, counters[country].mobile++);
      mobileDigits = plan.cc + m.area + m.subscriber;
      mobile = format(m.area, m.subscriber, int(7));
      numbers++;
      if (mobileRoll >= 0.85) {
        const m2 = planNumber(plan.mobile, counters[country].mobile++);
        mobile +=
          random() < 0.5
            ? ` / ${format(m2.area, m2.subscriber, 0)}`
            : `; ${format(m2.area, m2.subscriber, 1)}`;
        mobileDigits = undefined; // keep the known hits simple: single-number fields only
        numbers++;
      }
    }

    const id = `c${String(i).padStart(7, '0')}`;
    const domain = company
      ? `${ascii(company.split(/[ ,]/)[0] ?? '') || 'firma'}.${country.toLowerCase()}`
      : 'example.org';
    const email = `${ascii(first)}.${ascii(last)}${i % 97}@${domain}`;
    // Most rows name their country; some Swiss ones leave it to the default region (CH).
    const countryField =
      country === 'CH' && random() < 0.2 ? '' : random() < 0.1 ? country.toLowerCase() : country;

    chunk += `${id},${csvField(first)},${csvField(last)},${csvField(company)},${csvField(phone)},${csvField(mobile)},${email},${countryField}\n`;

    if (i % hitEvery === hitEvery - 1 && hits.length < HITS) {
      // One in five known hits is looked up by its mobile number, the rest by the main number.
      const byMobile = hits.length % 5 === 4 && mobileDigits !== undefined;
      hits.push({
        number: byMobile ? mobileDigits! : plan.cc + main.area + main.subscriber,
        id,
        name: `${first} ${last}`,
        by: byMobile ? 'mobile' : 'phone',
        written: byMobile ? mobile : phone,
      });
    }
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');

  // Misses: valid numbers in area codes that no contact uses, spread over the three countries.
  const misses: string[] = [];
  const missCounters: Record<Country, number> = { CH: 0, DE: 0, AT: 0 };
  for (let i = 0; i < HITS; i++) {
    const country: Country = i % 10 < 5 ? 'CH' : i % 10 < 8 ? 'DE' : 'AT';
    const plan = PLANS[country];
    const m = planNumber(plan.miss, missCounters[country]++ * 37 + 11);
    misses.push(plan.cc + m.area + m.subscriber);
  }

  const seconds = (performance.now() - started) / 1000;
  const result: ContactsResult = {
    ...meta,
    numbers,
    bytes: statSync(csv).size,
    seconds: Math.round(seconds * 10) / 10,
    hitsFile: join(work, 'hits.json'),
    missesFile: join(work, 'misses.json'),
  };
  await writeFile(result.hitsFile, JSON.stringify(hits));
  await writeFile(result.missesFile, JSON.stringify(misses));
  await writeFile(csvMeta, JSON.stringify(result));
  return result;
}

const known = new WeakMap<Context, { hits: Hit[]; misses: string[] }>();

/** The known hits and misses of the generated contacts (read once). */
export function knownNumbers(ctx: Context): { hits: Hit[]; misses: string[] } {
  let numbers = known.get(ctx);
  if (!numbers) {
    const csv = ctx.results.contacts;
    if (!csv) throw new Error('no contacts generated');
    numbers = {
      hits: JSON.parse(readFileSync(csv.hitsFile, 'utf8')) as Hit[],
      misses: JSON.parse(readFileSync(csv.missesFile, 'utf8')) as string[],
    };
    known.set(ctx, numbers);
  }
  return numbers;
}

export default defineScenario<ContactsResult>({
  name: 'contacts',
  description: 'generate the contacts CSV (--contacts), known hits and misses',
  byDefault: true,
  needs: [],
  async run(ctx) {
    mkdirSync(ctx.paths.work, { recursive: true });
    log(`generating ${ctx.options.contacts.toLocaleString('en-US')} contacts into ${ctx.paths.csv}`);
    const result = await generateContacts(ctx);
    log(`CSV: ${Math.round(result.bytes / 2 ** 20)} MB in ${result.seconds} s`);
    return result;
  },
  rows(report, outcome) {
    if (!outcome.ok) return report.row('contacts generated', failed(outcome));
    const csv = outcome.result;
    report.row(
      'contacts generated',
      `${csv.contacts.toLocaleString('en-US')} (${csv.numbers.toLocaleString('en-US')} numbers, ${Math.round(csv.bytes / 2 ** 20)} MB CSV)`,
    );
  },
});
