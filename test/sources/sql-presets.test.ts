/**
 * The CRM presets against tables laid out as each CRM creates them (test/fixtures/sql/*.sql),
 * filled the way the CRM fills them, in MariaDB: the customer gives only the connection and the
 * CRM's address.
 */

import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSqlSource, sqlSourceSchema } from '../../src/sources/sql/sql-source.js';
import type { Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import {
  describeWithServer,
  type MysqlDatabase,
  mysqlDatabase,
  mysqlUnavailable,
  sqlFixture,
  sqlSource,
  syncer,
} from '../support/sql.js';

const unavailable = await mysqlUnavailable();

const BASE = 'https://crm.example.ch/crm/';

/** Alexa's numbers as she typed them in, and the keys a call from each of them is looked up by. */
const ALEXA_KEYS = {
  work: '+41215522000', // '+41 (0)21 552 20 00'
  mobile: '+41791234567', // '079 123 45 67'
  home: '+41446681800', // '044 668 18 00'
  other: '+41313102030', // '+41 31 310 20 30'
};

interface Crm {
  readonly preset: 'suitecrm' | 'sugarcrm' | 'vtiger' | 'espocrm';
  readonly fixture: string;
  readonly data: string;
  /** Ids, as the CRM makes them. */
  readonly ids: { alexa: string; bruno: string; gone: string; dora: string; account: string };
  /** Alexa's numbers that the CRM shows (EspoCRM: one of the four is deleted, one unlinked). */
  readonly alexaKeys: readonly string[];
  readonly alexaMissing?: readonly string[];
  readonly contactUrl: (id: string) => string;
  readonly companyUrl: (id: string) => string;
  readonly details: Record<string, string>;
  /** SQL that soft-deletes Bruno now, as the CRM does. */
  readonly deleteBruno: string;
  /** SQL that renames Alexa's company to White Cross Group now, as the CRM does. */
  readonly renameCompany: string;
  /** SQL that soft-deletes Alexa's company now, as the CRM does. */
  readonly deleteCompany: string;
  /** SQL that gives Dora a German address and number, Bruno an address in Atlantis, Alexa's company a French one. */
  readonly countries: string;
  /** Tables an e-mail-less database user may not read (empty: the preset needs no optional table). */
  readonly emailTables: readonly string[];
}

// --- SuiteCRM 7 / SugarCRM CE ------------------------------------------------------------------

const S = {
  alexa: '2f0d1c8e-5a4b-4c3d-9e8f-000000000001',
  bruno: '2f0d1c8e-5a4b-4c3d-9e8f-000000000002',
  gone: '2f0d1c8e-5a4b-4c3d-9e8f-000000000003',
  dora: '2f0d1c8e-5a4b-4c3d-9e8f-000000000004',
  account: '7b1e2d3c-4f5a-4b6c-8d7e-000000000001',
  closed: '7b1e2d3c-4f5a-4b6c-8d7e-000000000002',
};
const SUITE_DATA = `
  INSERT INTO accounts (id, name, date_entered, date_modified, deleted, account_type, phone_office) VALUES
    ('${S.account}', 'White Cross Co', '2024-03-01 09:00:00', '2024-03-01 09:00:00', 0, 'Customer', '+41 21 552 20 10'),
    ('${S.closed}', 'Closed Ltd', '2024-03-01 09:00:00', '2025-01-10 09:00:00', 1, 'Customer', NULL);
  INSERT INTO contacts (id, date_entered, date_modified, deleted, salutation, first_name, last_name, title, department,
      phone_work, phone_mobile, phone_home, phone_other, phone_fax) VALUES
    ('${S.alexa}', '2024-03-01 09:00:00', '2024-03-02 10:00:00', 0, 'Ms.', 'Alexa', 'Holiday', 'Head of Sales', 'Sales',
      '+41 (0)21 552 20 00', '079 123 45 67', '044 668 18 00', '+41 31 310 20 30', '021 552 20 01'),
    ('${S.bruno}', '2024-03-01 09:00:00', '2024-03-03 10:00:00', 0, 'Mr.', 'Bruno', 'Keller', NULL, NULL,
      NULL, '078 765 43 21', NULL, NULL, NULL),
    ('${S.gone}', '2024-03-01 09:00:00', '2024-03-04 10:00:00', 1, NULL, 'Gone', 'Contact', NULL, NULL,
      '043 222 33 44', NULL, NULL, NULL, NULL),
    ('${S.dora}', '2024-03-01 09:00:00', '2024-03-05 10:00:00', 0, NULL, 'Dora', 'Eng', NULL, NULL,
      '058 123 45 67', NULL, NULL, NULL, NULL);
  INSERT INTO accounts_contacts (id, contact_id, account_id, date_modified, deleted) VALUES
    ('ac-1', '${S.alexa}', '${S.account}', '2024-03-01 09:00:00', 0),
    ('ac-2', '${S.bruno}', '${S.closed}', '2024-03-01 09:00:00', 0),
    ('ac-3', '${S.gone}', '${S.account}', '2024-03-01 09:00:00', 0),
    ('ac-4', '${S.dora}', '${S.account}', '2024-03-01 09:00:00', 1);
  INSERT INTO email_addresses (id, email_address, email_address_caps, date_created, deleted) VALUES
    ('ea-1', 'alexa@whitecross.example', 'ALEXA@WHITECROSS.EXAMPLE', '2024-03-01 09:00:00', 0),
    ('ea-2', 'alexa.holiday@private.example', 'ALEXA.HOLIDAY@PRIVATE.EXAMPLE', '2024-03-01 09:00:00', 0),
    ('ea-3', 'old@whitecross.example', 'OLD@WHITECROSS.EXAMPLE', '2024-03-01 09:00:00', 0);
  INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id, bean_module, primary_address, deleted) VALUES
    ('r-1', 'ea-2', '${S.alexa}', 'Contacts', 0, 0),
    ('r-2', 'ea-1', '${S.alexa}', 'Contacts', 1, 0),
    ('r-3', 'ea-3', '${S.alexa}', 'Contacts', 1, 1);`;

const suite = (preset: 'suitecrm' | 'sugarcrm'): Crm => ({
  preset,
  fixture: 'suitecrm',
  data: SUITE_DATA,
  ids: S,
  alexaKeys: [...Object.values(ALEXA_KEYS), '+41215522001'],
  contactUrl: (id) => `https://crm.example.ch/crm/index.php?module=Contacts&action=DetailView&record=${id}`,
  companyUrl: (id) => `https://crm.example.ch/crm/index.php?module=Accounts&action=DetailView&record=${id}`,
  details: { 'E-mail': 'alexa@whitecross.example', Title: 'Head of Sales', Department: 'Sales' },
  deleteBruno: `UPDATE contacts SET deleted = 1, date_modified = UTC_TIMESTAMP() WHERE id = '${S.bruno}'`,
  renameCompany: `UPDATE accounts SET name = 'White Cross Group', date_modified = UTC_TIMESTAMP() WHERE id = '${S.account}'`,
  deleteCompany: `UPDATE accounts SET deleted = 1, date_modified = UTC_TIMESTAMP() WHERE id = '${S.account}'`,
  countries: `
    UPDATE contacts SET primary_address_country = 'Deutschland', phone_work = '089 / 123 45-67' WHERE id = '${S.dora}';
    UPDATE contacts SET primary_address_country = 'Atlantis' WHERE id = '${S.bruno}';
    UPDATE accounts SET billing_address_country = 'Frankreich' WHERE id = '${S.account}';`,
  emailTables: ['email_addr_bean_rel', 'email_addresses'],
});

// --- vtiger 7 ----------------------------------------------------------------------------------

const VTIGER_DATA = `
  INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, createdtime, modifiedtime, deleted, label) VALUES
    (101, 1, 1, 1, 'Contacts', '2024-03-01 09:00:00', '2024-03-02 10:00:00', 0, 'Alexa Holiday'),
    (102, 1, 1, 1, 'Contacts', '2024-03-01 09:00:00', '2024-03-03 10:00:00', 0, 'Bruno Keller'),
    (103, 1, 1, 1, 'Contacts', '2024-03-01 09:00:00', '2024-03-04 10:00:00', 1, 'Gone Contact'),
    (104, 1, 1, 1, 'Contacts', '2024-03-01 09:00:00', '2024-03-05 10:00:00', 0, 'Dora Eng'),
    (201, 1, 1, 1, 'Accounts', '2024-03-01 09:00:00', '2024-03-01 09:00:00', 0, 'White Cross Co'),
    (202, 1, 1, 1, 'Accounts', '2024-03-01 09:00:00', '2025-01-10 09:00:00', 1, 'Closed Ltd');
  INSERT INTO vtiger_account (accountid, account_no, accountname, phone) VALUES
    (201, 'ACC1', 'White Cross Co', '+41 21 552 20 10'),
    (202, 'ACC2', 'Closed Ltd', NULL);
  INSERT INTO vtiger_contactdetails (contactid, contact_no, accountid, salutation, firstname, lastname, email, phone,
      mobile, title, department, fax) VALUES
    (101, 'CON1', 201, 'Ms.', 'Alexa', 'Holiday', 'alexa@whitecross.example', '+41 (0)21 552 20 00',
      '079 123 45 67', 'Head of Sales', 'Sales', '021 552 20 01'),
    (102, 'CON2', 202, 'Mr.', 'Bruno', 'Keller', NULL, NULL, '078 765 43 21', NULL, NULL, NULL),
    (103, 'CON3', 201, NULL, 'Gone', 'Contact', NULL, '043 222 33 44', NULL, NULL, NULL, NULL),
    (104, 'CON4', NULL, NULL, 'Dora', 'Eng', NULL, '058 123 45 67', NULL, NULL, NULL, NULL);
  INSERT INTO vtiger_contactsubdetails (contactsubscriptionid, homephone, otherphone, assistant, assistantphone) VALUES
    (101, '044 668 18 00', '+41 31 310 20 30', 'Sam Assist', '044 300 40 50'),
    (102, NULL, NULL, NULL, NULL), (103, NULL, NULL, NULL, NULL), (104, NULL, NULL, NULL, NULL);`;

const vtiger: Crm = {
  preset: 'vtiger',
  fixture: 'vtiger',
  data: VTIGER_DATA,
  ids: { alexa: '101', bruno: '102', gone: '103', dora: '104', account: '201' },
  alexaKeys: [...Object.values(ALEXA_KEYS), '+41443004050', '+41215522001'],
  contactUrl: (id) => `https://crm.example.ch/crm/index.php?module=Contacts&view=Detail&record=${id}`,
  companyUrl: (id) => `https://crm.example.ch/crm/index.php?module=Accounts&view=Detail&record=${id}`,
  details: { 'E-mail': 'alexa@whitecross.example', Title: 'Head of Sales', Department: 'Sales' },
  deleteBruno: 'UPDATE vtiger_crmentity SET deleted = 1, modifiedtime = UTC_TIMESTAMP() WHERE crmid = 102',
  renameCompany: `UPDATE vtiger_account SET accountname = 'White Cross Group' WHERE accountid = 201;
    UPDATE vtiger_crmentity SET modifiedtime = UTC_TIMESTAMP() WHERE crmid = 201;`,
  deleteCompany: 'UPDATE vtiger_crmentity SET deleted = 1, modifiedtime = UTC_TIMESTAMP() WHERE crmid = 201',
  countries: `
    INSERT INTO vtiger_contactaddress (contactaddressid, mailingcountry) VALUES (104, 'Deutschland'), (102, 'Atlantis');
    UPDATE vtiger_contactdetails SET phone = '089 / 123 45-67' WHERE contactid = 104;
    INSERT INTO vtiger_accountbillads (accountaddressid, bill_country) VALUES (201, 'Frankreich');`,
  emailTables: [],
};

// --- EspoCRM -----------------------------------------------------------------------------------

const E = {
  alexa: '65a1f0c2d3e4b5a61',
  bruno: '65a1f0c2d3e4b5a62',
  gone: '65a1f0c2d3e4b5a63',
  dora: '65a1f0c2d3e4b5a64',
  account: '65a1e0b1c2d3a4f51',
  closed: '65a1e0b1c2d3a4f52',
};
const ESPO_DATA = `
  INSERT INTO account (id, name, deleted, type, created_at, modified_at) VALUES
    ('${E.account}', 'White Cross Co', 0, 'Customer', '2024-03-01 09:00:00', '2024-03-01 09:00:00'),
    ('${E.closed}', 'Closed Ltd', 1, 'Customer', '2024-03-01 09:00:00', '2025-01-10 09:00:00');
  INSERT INTO contact (id, deleted, salutation_name, first_name, last_name, created_at, modified_at, account_id) VALUES
    ('${E.alexa}', 0, 'Ms.', 'Alexa', 'Holiday', '2024-03-01 09:00:00', '2024-03-02 10:00:00', '${E.account}'),
    ('${E.bruno}', 0, 'Mr.', 'Bruno', 'Keller', '2024-03-01 09:00:00', '2024-03-03 10:00:00', '${E.closed}'),
    ('${E.gone}', 1, NULL, 'Gone', 'Contact', '2024-03-01 09:00:00', '2024-03-04 10:00:00', '${E.account}'),
    ('${E.dora}', 0, NULL, 'Dora', 'Eng', '2024-03-01 09:00:00', '2024-03-05 10:00:00', NULL);
  INSERT INTO account_contact (account_id, contact_id, role, is_inactive, deleted) VALUES
    ('${E.account}', '${E.alexa}', 'Head of Sales', 0, 0),
    ('${E.closed}', '${E.bruno}', 'Buyer', 0, 0),
    ('${E.account}', '${E.gone}', NULL, 0, 0);
  INSERT INTO phone_number (id, name, deleted, type, \`numeric\`) VALUES
    ('65a1f1000000000p1', '+41 (0)21 552 20 00', 0, 'Office', '41215522000'),
    ('65a1f1000000000p2', '079 123 45 67', 0, 'Mobile', '0791234567'),
    ('65a1f1000000000p3', '044 668 18 00', 1, 'Home', '0446681800'),
    ('65a1f1000000000p4', '078 765 43 21', 0, 'Mobile', '0787654321'),
    ('65a1f1000000000p5', '043 222 33 44', 0, 'Office', '0432223344'),
    ('65a1f1000000000p6', '058 123 45 67', 0, 'Office', '0581234567'),
    ('65a1f1000000000p7', '+41 31 310 20 30', 0, 'Other', '41313102030'),
    ('65a1f1000000000p8', '+41 21 552 20 10', 0, 'Office', '41215522010');
  INSERT INTO entity_phone_number (entity_id, phone_number_id, entity_type, \`primary\`, deleted) VALUES
    ('${E.alexa}', '65a1f1000000000p2', 'Contact', 0, 0),
    ('${E.alexa}', '65a1f1000000000p1', 'Contact', 1, 0),
    ('${E.alexa}', '65a1f1000000000p3', 'Contact', 0, 0),
    ('${E.alexa}', '65a1f1000000000p7', 'Contact', 0, 1),
    ('${E.bruno}', '65a1f1000000000p4', 'Contact', 1, 0),
    ('${E.gone}', '65a1f1000000000p5', 'Contact', 1, 0),
    ('${E.dora}', '65a1f1000000000p6', 'Contact', 1, 0),
    ('${E.account}', '65a1f1000000000p8', 'Account', 1, 0);
  INSERT INTO email_address (id, name, deleted, lower) VALUES
    ('65a1f2000000000e1', 'alexa@whitecross.example', 0, 'alexa@whitecross.example'),
    ('65a1f2000000000e2', 'alexa.holiday@private.example', 0, 'alexa.holiday@private.example');
  INSERT INTO entity_email_address (entity_id, email_address_id, entity_type, \`primary\`, deleted) VALUES
    ('${E.alexa}', '65a1f2000000000e2', 'Contact', 0, 0),
    ('${E.alexa}', '65a1f2000000000e1', 'Contact', 1, 0);`;

const espocrm: Crm = {
  preset: 'espocrm',
  fixture: 'espocrm',
  data: ESPO_DATA,
  ids: E,
  // The home number's phone_number row is deleted; the other number's link is.
  alexaKeys: [ALEXA_KEYS.work, ALEXA_KEYS.mobile],
  alexaMissing: [ALEXA_KEYS.home, ALEXA_KEYS.other],
  contactUrl: (id) => `https://crm.example.ch/crm/#Contact/view/${id}`,
  companyUrl: (id) => `https://crm.example.ch/crm/#Account/view/${id}`,
  details: { 'E-mail': 'alexa@whitecross.example', Title: 'Head of Sales' },
  deleteBruno: `UPDATE contact SET deleted = 1, modified_at = UTC_TIMESTAMP() WHERE id = '${E.bruno}'`,
  renameCompany: `UPDATE account SET name = 'White Cross Group', modified_at = UTC_TIMESTAMP() WHERE id = '${E.account}'`,
  deleteCompany: `UPDATE account SET deleted = 1, modified_at = UTC_TIMESTAMP() WHERE id = '${E.account}'`,
  countries: `
    UPDATE contact SET address_country = 'Deutschland' WHERE id = '${E.dora}';
    UPDATE phone_number SET name = '089 / 123 45-67' WHERE id = '65a1f1000000000p6';
    UPDATE contact SET address_country = 'Atlantis' WHERE id = '${E.bruno}';
    UPDATE account SET billing_address_country = 'Frankreich' WHERE id = '${E.account}';`,
  emailTables: ['entity_email_address', 'email_address'],
};

describeWithServer('sql source: CRM presets', unavailable, () => {
  for (const crm of [suite('suitecrm'), suite('sugarcrm'), vtiger, espocrm]) {
    describe(crm.preset, () => {
      let db: MysqlDatabase;
      let dir: ReturnType<typeof tempDir>;
      let store: Store;
      let source: Source;
      let mirror: ReturnType<typeof syncer>;

      beforeAll(async () => {
        db = await mysqlDatabase(`cc_sql_${crm.preset}`);
        await db.exec(sqlFixture(crm.fixture));
      });
      afterAll(async () => {
        await db?.drop();
      });
      beforeEach(async () => {
        await db.exec(crm.data);
        dir = tempDir();
        store = openSqliteStore(dir.path);
        source = sqlSource({ driver: 'mysql', url: db.url(), preset: crm.preset, baseUrl: BASE });
        mirror = syncer(store, source);
      });
      afterEach(async () => {
        await source.close?.();
        await store.close();
        dir.remove();
        // Empty every table for the next case, children first.
        const tables = await db.rows<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?`,
          [db.name],
        );
        await db.exec(
          `SET FOREIGN_KEY_CHECKS = 0; ${tables.map((t) => `DELETE FROM \`${t.name}\`;`).join(' ')} SET FOREIGN_KEY_CHECKS = 1;`,
        );
      });

      it('finds a contact by each of its numbers, as typed in the CRM, with company, links and details', async () => {
        const report = await mirror.sync();
        expect(report.error).toBeUndefined();
        expect(report.full).toBe(true);

        const [main, ...others] = crm.alexaKeys;
        expect(await mirror.find(main!)).toEqual([
          {
            id: crm.ids.alexa,
            primary: true,
            name: 'Alexa Holiday',
            company: 'White Cross Co',
            contactUri: crm.contactUrl(crm.ids.alexa),
            companyUri: crm.companyUrl(crm.ids.account),
            customData: crm.details,
            updatedAt: Date.UTC(2024, 2, 2, 10, 0, 0),
          },
        ]);
        for (const key of others) {
          expect(await mirror.find(key), key).toEqual([
            expect.objectContaining({ id: crm.ids.alexa, primary: false, name: 'Alexa Holiday' }),
          ]);
        }
        for (const key of crm.alexaMissing ?? []) expect(await mirror.ids(key), key).toEqual([]);
        // Dora, without a company.
        const [dora] = await mirror.find('+41581234567');
        expect(dora).toMatchObject({
          id: crm.ids.dora,
          name: 'Dora Eng',
          contactUri: crm.contactUrl(crm.ids.dora),
        });
        expect(dora?.company).toBeUndefined();
        expect(dora?.companyUri).toBeUndefined();
      });

      it('leaves deleted contacts out', async () => {
        await mirror.sync();
        expect(await mirror.ids('+41432223344')).toEqual([]);
        expect(await store.contacts.count('crm')).toBe(3);
      });

      it('does not show a deleted company', async () => {
        await mirror.sync();
        const [bruno] = await mirror.find('+41787654321');
        expect(bruno).toMatchObject({ id: crm.ids.bruno, name: 'Bruno Keller' });
        expect(bruno?.company).toBeUndefined();
        expect(bruno?.companyUri).toBeUndefined();
      });

      it('an incremental sync removes a contact deleted in the CRM since the last one', async () => {
        await mirror.sync();
        expect(await mirror.ids('+41787654321')).toEqual([crm.ids.bruno]);
        await db.exec(crm.deleteBruno);
        const report = await mirror.sync();
        expect(report).toMatchObject({ full: false, removed: 1 });
        expect(await mirror.ids('+41787654321')).toEqual([]);
        expect(await mirror.ids(ALEXA_KEYS.work)).toEqual([crm.ids.alexa]);
      });

      it('an incremental sync takes a company off the cards when it is deleted in the CRM', async () => {
        await mirror.sync();
        await db.exec(crm.deleteCompany);
        expect(await mirror.sync()).toMatchObject({ full: false });
        const [alexa] = await mirror.find(ALEXA_KEYS.work);
        expect(alexa).toMatchObject({ id: crm.ids.alexa, name: 'Alexa Holiday' });
        expect(alexa?.company).toBeUndefined();
        expect(alexa?.companyUri).toBeUndefined();
      });

      it('an incremental sync picks up a company renamed in the CRM since the last one', async () => {
        await mirror.sync();
        await db.exec(crm.renameCompany);
        const report = await mirror.sync();
        expect(report).toMatchObject({ full: false });
        const [alexa] = await mirror.find(ALEXA_KEYS.work);
        expect(alexa).toMatchObject({ id: crm.ids.alexa, company: 'White Cross Group' });
      });

      it("reads national numbers in the contact's address country, else its company's; an unknown one keeps the contact", async () => {
        await db.exec(crm.countries);
        expect((await mirror.sync()).error).toBeUndefined();
        // Dora's 089 / 123 45-67 is a Munich number.
        expect(await mirror.ids('+49891234567')).toEqual([crm.ids.dora]);
        expect(await mirror.ids('+41891234567')).toEqual([]);
        // Alexa has no country of her own: her mobile 079 123 45 67 is read in her company's France.
        expect(await mirror.ids('+33791234567')).toEqual([crm.ids.alexa]);
        // Atlantis is no country: Bruno's number is read in the default region, and he stays.
        expect(await mirror.ids('+41787654321')).toEqual([crm.ids.bruno]);
        expect(await store.contacts.count('crm')).toBe(3);
      });

      // vtiger keeps the e-mail address in vtiger_contactdetails: no optional table.
      it.skipIf(crm.emailTables.length === 0)(
        'a database user without access to the e-mail tables gets every contact, without e-mail, and a warning',
        async () => {
          const user = `cc_limited_${Math.random().toString(36).slice(2, 10)}`;
          const granted = (
            await db.rows<{ name: string }>(
              `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?`,
              [db.name],
            )
          )
            .map((t) => t.name)
            .filter((name) => !crm.emailTables.includes(name));
          await db.exec(
            `CREATE USER '${user}'@'%' IDENTIFIED BY 'limited-pw'; ${granted
              .map((table) => `GRANT SELECT ON \`${db.name}\`.\`${table}\` TO '${user}'@'%';`)
              .join(' ')}`,
          );
          const lines: string[] = [];
          const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
          const url = new URL(db.url());
          url.username = user;
          url.password = 'limited-pw';
          const limited = createSqlSource(
            {
              ...sqlSourceSchema.parse({
                type: 'sql',
                driver: 'mysql',
                url: url.href,
                preset: crm.preset,
                baseUrl: BASE,
              }),
              name: 'crm',
              timeoutMs: 1500,
            },
            { logger, baseDir: process.cwd() },
          );
          try {
            const report = await syncer(store, limited).sync();
            expect(report.error).toBeUndefined();
            expect(report.written).toBe(3);
            const [alexa] = await mirror.find(ALEXA_KEYS.work);
            expect(alexa).toMatchObject({ id: crm.ids.alexa, company: 'White Cross Co' });
            expect(alexa?.customData?.['E-mail']).toBeUndefined();
            expect(lines.map((line) => JSON.parse(line).msg)).toEqual([
              expect.stringMatching(
                /^cannot read (email_addr_bean_rel|email_addresses|entity_email_address|email_address): contacts are read without their e-mail addresses$/,
              ),
            ]);
          } finally {
            await limited.close?.();
            await db.exec(`DROP USER '${user}'@'%'`);
          }
        },
      );

      it('a full sync counts a contact deleted in the CRM as removed', async () => {
        expect(await mirror.sync()).toMatchObject({ full: true, removed: 0 });
        await db.exec(crm.deleteBruno);
        expect(await mirror.sync({ full: true })).toMatchObject({ full: true, written: 2, removed: 1 });
        expect(await mirror.ids('+41787654321')).toEqual([]);
        expect(await store.contacts.count('crm')).toBe(2);
      });
    });
  }
});
