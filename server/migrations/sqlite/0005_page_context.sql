-- Where and on what a survey was answered, and what the site set through the JS API.
ALTER TABLE responses ADD COLUMN page_path TEXT;
ALTER TABLE responses ADD COLUMN referrer_domain TEXT;
ALTER TABLE responses ADD COLUMN device_class TEXT;
-- JSON objects: UTM parameters by name, and the site's attributes.
ALTER TABLE responses ADD COLUMN utm TEXT;
ALTER TABLE responses ADD COLUMN attributes TEXT;
