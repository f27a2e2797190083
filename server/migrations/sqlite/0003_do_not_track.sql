-- When true, visitors whose browser sends Do Not Track or Global Privacy Control never see the survey.
ALTER TABLE sites ADD COLUMN honor_do_not_track BOOLEAN NOT NULL DEFAULT FALSE;
