-- +goose Up
-- The platform as tax agent (docs/tax.md): per-program tax settings and
-- required consents, participants' legal data sealed at rest (versioned
-- once a filed report used it), consents with evidence, the income and tax
-- of every delivered or reversed reward, the running position per
-- participant, agent and year, and the closed monthly runs.

-- Per program: who is the tax agent, who bears the tax, which rate, and
-- which consents the program requires before crediting or redeeming.
CREATE TABLE tax_program_settings (
    program_id                BIGINT PRIMARY KEY,
    client_id                 BIGINT NOT NULL REFERENCES clients(id),
    agent                     TEXT NOT NULL DEFAULT 'client' CHECK (agent IN ('platform', 'client')),
    mode                      TEXT NOT NULL DEFAULT 'notify' CHECK (mode IN ('gross_up', 'notify')),
    rate_kind                 TEXT NOT NULL DEFAULT 'standard' CHECK (rate_kind IN ('standard', 'advertising')),
    requires_personal_data    BOOLEAN NOT NULL DEFAULT true,
    requires_offer            BOOLEAN NOT NULL DEFAULT false,
    requires_employer         BOOLEAN NOT NULL DEFAULT false,
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);

-- A participant's legal data. The data itself (name, birth date, ИНН,
-- citizenship, identity document, address) is one sealbox value bound to
-- the row (participant, version); residency stays readable because the
-- engine needs it for every reward. A version used by a filed run is
-- frozen: a correction after it starts the next version.
CREATE TABLE tax_profile_versions (
    participant_id  BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    version         INT NOT NULL CHECK (version > 0),
    sealed          TEXT NOT NULL CHECK (sealed LIKE 'v1:%'),
    residency       TEXT NOT NULL CHECK (residency IN ('resident', 'non_resident')),
    complete        BOOLEAN NOT NULL,
    filed           BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (participant_id, version),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id)
);
CREATE INDEX tax_profile_versions_client_idx ON tax_profile_versions (client_id, participant_id);

-- Consents. personal_data (152-ФЗ) and offer (the program's rules) are a
-- participant's; employer is a shop owner's or distributor's confirmation
-- that its staff (a shop's, or one participant's) may take part.
CREATE TABLE tax_consents (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT NOT NULL REFERENCES clients(id),
    kind             TEXT NOT NULL CHECK (kind IN ('personal_data', 'offer', 'employer')),
    participant_id   BIGINT,
    shop_id          BIGINT,
    program_id       BIGINT,
    text_version     TEXT NOT NULL CHECK (text_version ~ '^[A-Za-z0-9._-]{1,40}$'),
    channel          TEXT NOT NULL CHECK (channel IN ('app', 'web', 'registry', 'paper', 'dashboard')),
    evidence         TEXT NOT NULL CHECK (evidence <> '' AND length(evidence) <= 2000),
    given_by         TEXT NOT NULL DEFAULT '' CHECK (length(given_by) <= 300),
    granted_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    withdrawn_at     TIMESTAMPTZ,
    withdrawn_channel TEXT CHECK (withdrawn_channel IN ('app', 'web', 'registry', 'paper', 'dashboard')),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    FOREIGN KEY (client_id, shop_id) REFERENCES shops (client_id, id),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    CHECK (kind = 'employer' OR participant_id IS NOT NULL),
    CHECK (kind <> 'employer' OR shop_id IS NOT NULL OR participant_id IS NOT NULL),
    CHECK ((withdrawn_at IS NULL) = (withdrawn_channel IS NULL))
);
CREATE INDEX tax_consents_participant_idx ON tax_consents (participant_id, kind) WHERE withdrawn_at IS NULL;
CREATE INDEX tax_consents_shop_idx ON tax_consents (shop_id, kind) WHERE withdrawn_at IS NULL;

-- A closed monthly run of one tax agent: the platform (client_id NULL) or
-- one client. Its lines are the tax_income rows it took.
CREATE TABLE tax_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent        TEXT NOT NULL CHECK (agent IN ('platform', 'client')),
    client_id    BIGINT REFERENCES clients(id),
    year         INT NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    month        INT NOT NULL CHECK (month BETWEEN 1 AND 12),
    closed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_by    TEXT NOT NULL DEFAULT '',
    CHECK ((agent = 'platform') = (client_id IS NULL))
);
CREATE UNIQUE INDEX tax_runs_agent_month_key ON tax_runs (agent, COALESCE(client_id, 0), year, month);

-- The position of one participant with one agent in one tax year: the sum
-- of its income rows, locked to serialise the cumulative computation.
CREATE TABLE tax_positions (
    participant_id  BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    agent           TEXT NOT NULL CHECK (agent IN ('platform', 'client')),
    tax_year        INT NOT NULL CHECK (tax_year BETWEEN 2000 AND 2200),
    standard        BIGINT NOT NULL DEFAULT 0 CHECK (standard >= 0),
    advertising     BIGINT NOT NULL DEFAULT 0 CHECK (advertising >= 0),
    computed        BIGINT NOT NULL DEFAULT 0 CHECK (computed >= 0),
    PRIMARY KEY (participant_id, agent, tax_year),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id)
);

-- Every delivered or reversed reward with the tax it computed. Append-only;
-- run_id is set once, when a monthly run takes the row.
CREATE TABLE tax_income (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       BIGINT NOT NULL,
    program_id      BIGINT NOT NULL,
    participant_id  BIGINT NOT NULL,
    agent           TEXT NOT NULL CHECK (agent IN ('platform', 'client')),
    tax_year        INT NOT NULL CHECK (tax_year BETWEEN 2000 AND 2200),
    event           TEXT NOT NULL CHECK (event IN ('delivery', 'reversal')),
    ref             TEXT NOT NULL CHECK (ref <> '' AND length(ref) <= 200),
    at              TIMESTAMPTZ NOT NULL,
    local_date      DATE NOT NULL,
    rate_kind       TEXT NOT NULL CHECK (rate_kind IN ('standard', 'advertising')),
    mode            TEXT NOT NULL CHECK (mode IN ('gross_up', 'notify')),
    residency       TEXT NOT NULL CHECK (residency IN ('resident', 'non_resident')),
    rules_version   TEXT NOT NULL,
    value           BIGINT NOT NULL,
    cash            BIGINT NOT NULL,
    income          BIGINT NOT NULL,
    tax             BIGINT NOT NULL CHECK (tax % 100 = 0),
    withheld        BIGINT NOT NULL,
    not_withheld    BIGINT NOT NULL,
    run_id          BIGINT REFERENCES tax_runs(id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (tax = withheld + not_withheld),
    CHECK ((event = 'delivery') = (value > 0)),
    UNIQUE (event, ref),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);
CREATE INDEX tax_income_open_idx ON tax_income (agent, client_id, local_date) WHERE run_id IS NULL;
CREATE INDEX tax_income_run_idx ON tax_income (run_id);
CREATE INDEX tax_income_person_idx ON tax_income (participant_id, tax_year);

-- +goose StatementBegin
CREATE FUNCTION tax_income_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'tax_income is append-only';
    END IF;
    IF OLD.run_id IS NOT NULL OR NEW.run_id IS NULL
       OR (to_jsonb(NEW) - 'run_id') <> (to_jsonb(OLD) - 'run_id') THEN
        RAISE EXCEPTION 'tax_income is append-only: only a run may take a row, once';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER tax_income_append_only BEFORE UPDATE OR DELETE ON tax_income
    FOR EACH ROW EXECUTE FUNCTION tax_income_append_only();

-- +goose Down
DROP TABLE tax_income;
DROP FUNCTION tax_income_append_only();
DROP TABLE tax_positions;
DROP TABLE tax_runs;
DROP TABLE tax_consents;
DROP TABLE tax_profile_versions;
DROP TABLE tax_program_settings;
