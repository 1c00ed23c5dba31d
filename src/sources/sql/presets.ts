/**
 * Queries for on-premise CRMs that keep their data in MySQL/MariaDB, following each CRM's published
 * schema: the customer gives only connection details and the CRM's web address.
 *
 * Every query returns the sql source's conventional columns: `id`, `first_name`/`last_name` or
 * `name`, `company`, `company_id`, number columns (named like phone/mobile/fax), `updated_at`,
 * `deleted`, and any other column as a labelled detail on the card.
 */
export interface Preset {
  /** The listing, with its optional parts or without them. */
  query(parts: { readonly optional: boolean }): string;
  /**
   * Tables the optional parts read (e-mail addresses): a database user allowed to read only the
   * others still gets every contact, without those details, and a warning.
   */
  readonly optionalTables: readonly string[];
  /** What the optional parts add, for the warning. */
  readonly optionalWhat: string;
  /** Templates under the CRM's base URL; `{id}` and `{company_id}` come from the row. */
  readonly contactPath: string;
  readonly companyPath: string;
}

// `updated_at` is the latest change of the contact and of the rows joined to it (its company, the
// link to it, its e-mail addresses): an incremental sync then also picks up a company renamed or
// deleted in the CRM. A row that is not there counts as the contact's own time (GREATEST of a NULL
// is NULL in MySQL/MariaDB).

export const presets = {
  // SuiteCRM 7 and SugarCRM CE share the schema: contacts, accounts_contacts, accounts, and e-mail
  // addresses through email_addr_bean_rel. Rows are soft-deleted with `deleted = 1`; a deleted
  // account is joined still (its change time counts) but not shown.
  suitecrm: {
    query: ({ optional }) => `
      SELECT c.id AS id, c.first_name AS first_name, c.last_name AS last_name,
             CASE WHEN a.deleted = 0 THEN a.name END AS company,
             CASE WHEN a.deleted = 0 THEN a.id END AS company_id,
             c.phone_work AS phone_work, c.phone_mobile AS phone_mobile, c.phone_home AS phone_home,
             c.phone_other AS phone_other, c.phone_fax AS phone_fax,${
               optional
                 ? `
             (SELECT ea.email_address FROM email_addr_bean_rel r
                JOIN email_addresses ea ON ea.id = r.email_address_id AND ea.deleted = 0
               WHERE r.bean_id = c.id AND r.bean_module = 'Contacts' AND r.deleted = 0
               ORDER BY r.primary_address DESC LIMIT 1) AS "E-mail",`
                 : ''
             }
             c.title AS "Title", c.department AS "Department",
             c.primary_address_country AS country, a.billing_address_country AS company_country,
             GREATEST(c.date_modified,
                      COALESCE(ac.date_modified, c.date_modified),
                      COALESCE(a.date_modified, c.date_modified)${
                        optional
                          ? `,
                      COALESCE((SELECT MAX(GREATEST(COALESCE(r.date_modified, c.date_modified),
                                                    COALESCE(ea.date_modified, c.date_modified)))
                                  FROM email_addr_bean_rel r
                                  LEFT JOIN email_addresses ea ON ea.id = r.email_address_id
                                 WHERE r.bean_id = c.id AND r.bean_module = 'Contacts'),
                               c.date_modified)`
                          : ''
                      }) AS updated_at,
             c.deleted AS deleted
        FROM contacts c
        LEFT JOIN accounts_contacts ac ON ac.contact_id = c.id AND ac.deleted = 0
        LEFT JOIN accounts a ON a.id = ac.account_id`,
    optionalTables: ['email_addr_bean_rel', 'email_addresses'],
    optionalWhat: 'e-mail addresses',
    contactPath: '/index.php?module=Contacts&action=DetailView&record={id}',
    companyPath: '/index.php?module=Accounts&action=DetailView&record={company_id}',
  },
  // vtiger 7/8: vtiger_contactdetails with vtiger_contactsubdetails and vtiger_contactaddress, the
  // shared vtiger_crmentity (deleted flag, modified time) and vtiger_account, whose own crmentity
  // row says whether the account was deleted (vtiger keeps the account row itself).
  vtiger: {
    query: () => `
      SELECT cd.contactid AS id, cd.firstname AS first_name, cd.lastname AS last_name,
             CASE WHEN ae.deleted = 0 THEN a.accountname END AS company,
             CASE WHEN ae.deleted = 0 THEN a.accountid END AS company_id,
             cd.phone AS phone, cd.mobile AS mobile, csd.homephone AS home_phone,
             csd.otherphone AS other_phone, csd.assistantphone AS assistant_phone, cd.fax AS fax,
             cd.email AS "E-mail", cd.title AS "Title", cd.department AS "Department",
             ca.mailingcountry AS country, ab.bill_country AS company_country,
             GREATEST(e.modifiedtime, COALESCE(ae.modifiedtime, e.modifiedtime)) AS updated_at,
             e.deleted AS deleted
        FROM vtiger_contactdetails cd
        JOIN vtiger_crmentity e ON e.crmid = cd.contactid
        LEFT JOIN vtiger_contactsubdetails csd ON csd.contactsubscriptionid = cd.contactid
        LEFT JOIN vtiger_contactaddress ca ON ca.contactaddressid = cd.contactid
        LEFT JOIN vtiger_account a ON a.accountid = cd.accountid
        LEFT JOIN vtiger_accountbillads ab ON ab.accountaddressid = a.accountid
        LEFT JOIN vtiger_crmentity ae ON ae.crmid = a.accountid`,
    optionalTables: [],
    optionalWhat: '',
    contactPath: '/index.php?module=Contacts&view=Detail&record={id}',
    companyPath: '/index.php?module=Accounts&view=Detail&record={company_id}',
  },
  // EspoCRM: numbers and addresses are rows of their own (phone_number, email_address), linked to
  // contacts through entity_phone_number / entity_email_address; the primary number comes first.
  // A contact's title is not a column of `contact`: EspoCRM shows the role of its link to its
  // primary account (account_contact, one row per account and contact).
  espocrm: {
    query: ({ optional }) => `
      SELECT c.id AS id, c.first_name AS first_name, c.last_name AS last_name,
             CASE WHEN a.deleted = 0 THEN a.name END AS company,
             CASE WHEN a.deleted = 0 THEN a.id END AS company_id,
             (SELECT GROUP_CONCAT(pn.name ORDER BY epn.\`primary\` DESC SEPARATOR '; ')
                FROM entity_phone_number epn
                JOIN phone_number pn ON pn.id = epn.phone_number_id AND pn.deleted = 0
               WHERE epn.entity_id = c.id AND epn.entity_type = 'Contact' AND epn.deleted = 0) AS phone,${
                 optional
                   ? `
             (SELECT ea.name FROM entity_email_address eea
                JOIN email_address ea ON ea.id = eea.email_address_id AND ea.deleted = 0
               WHERE eea.entity_id = c.id AND eea.entity_type = 'Contact' AND eea.deleted = 0
               ORDER BY eea.\`primary\` DESC LIMIT 1) AS "E-mail",`
                   : ''
               }
             ac.role AS "Title",
             c.address_country AS country, a.billing_address_country AS company_country,
             GREATEST(c.modified_at, COALESCE(a.modified_at, c.modified_at)) AS updated_at,
             c.deleted AS deleted
        FROM contact c
        LEFT JOIN account a ON a.id = c.account_id
        LEFT JOIN account_contact ac
               ON ac.contact_id = c.id AND ac.account_id = c.account_id AND ac.deleted = 0`,
    optionalTables: ['entity_email_address', 'email_address'],
    optionalWhat: 'e-mail addresses',
    contactPath: '/#Contact/view/{id}',
    companyPath: '/#Account/view/{company_id}',
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof presets | 'sugarcrm';

export function presetOf(name: PresetName): Preset {
  return name === 'sugarcrm' ? presets.suitecrm : presets[name];
}
