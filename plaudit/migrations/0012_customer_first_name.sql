-- The customer's first name, stored only when the source's mapping allows it.
alter table raw.feedback_responses add column customer_first_name text;
