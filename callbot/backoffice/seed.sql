-- Test data of the sample back-office: invented people, never real ones.
-- Every NIR has a valid key (97 - n mod 97) and a birth date that matches its year and
-- month; the commune code 999 and order numbers 001-006 mark them as fictitious.
-- Amounts are in euros; dates are ISO 8601. Rebuilt identically at every start.

CREATE TABLE assures (
    nir TEXT PRIMARY KEY,           -- 15 characters, key included
    date_naissance TEXT NOT NULL,   -- YYYY-MM-DD: with the NIR, the identity check
    nom_fictif TEXT NOT NULL        -- for whoever reads this file; never sent
);

CREATE TABLE remboursements (
    id INTEGER PRIMARY KEY,
    nir TEXT NOT NULL REFERENCES assures (nir),
    acte TEXT NOT NULL,             -- said after "Pour": "une consultation chez ..."
    date_soins TEXT NOT NULL,
    montant_euros REAL NOT NULL,    -- what the Assurance Maladie pays back
    statut TEXT NOT NULL CHECK (statut IN ('paye', 'en_cours', 'piece_manquante', 'refuse')),
    etape TEXT NOT NULL,            -- the last step, as said to the caller
    date_etape TEXT NOT NULL
);

CREATE TABLE indemnites (
    nir TEXT PRIMARY KEY REFERENCES assures (nir),
    debut_arret TEXT NOT NULL,
    montant_journalier_euros REAL NOT NULL,
    dernier_versement_date TEXT NOT NULL,
    dernier_versement_euros REAL NOT NULL,
    prochain_versement_date TEXT NOT NULL   -- every fourteen days while the stoppage lasts
);

INSERT INTO assures VALUES
    ('285067599900116', '1985-06-12', 'Camille Exemple'),
    ('172036999900240', '1972-03-03', 'Dominique Fictif'),
    ('290111399900368', '1990-11-30', 'Alex Démo'),
    ('158013399900415', '1958-01-17', 'Claude Essai'),
    ('201045999900566', '2001-04-22', 'Sacha Test'),
    ('164021499900654', '1964-02-08', 'Morgan Modèle');

INSERT INTO remboursements (nir, acte, date_soins, montant_euros, statut, etape, date_etape)
VALUES
    ('285067599900116', 'une consultation chez un médecin généraliste', '2026-09-14', 21.0,
     'paye', 'paiement envoyé à votre banque', '2026-09-18'),
    ('285067599900116', 'une consultation chez un médecin généraliste', '2026-10-05', 21.0,
     'paye', 'paiement envoyé à votre banque', '2026-10-09'),
    ('172036999900240', 'une séance de kinésithérapie', '2026-10-12', 13.13,
     'en_cours', 'feuille de soins reçue, en cours de traitement', '2026-10-13'),
    ('290111399900368', 'des lunettes', '2026-09-20', 9.0,
     'piece_manquante', 'facture détaillée demandée par courrier', '2026-09-25'),
    ('158013399900415', 'une prise de sang', '2026-10-01', 18.9,
     'refuse', 'refus, l''ordonnance manque, un courrier vous a été envoyé', '2026-10-07'),
    ('164021499900654', 'des médicaments', '2026-10-08', 32.46,
     'paye', 'paiement envoyé à votre banque', '2026-10-10');

INSERT INTO indemnites VALUES
    ('285067599900116', '2026-09-28', 41.2, '2026-10-14', 576.8, '2026-10-28'),
    ('290111399900368', '2026-10-02', 22.31, '2026-10-16', 312.34, '2026-10-30'),
    ('164021499900654', '2026-08-31', 52.75, '2026-10-12', 738.5, '2026-10-26');
