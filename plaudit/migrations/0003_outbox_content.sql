-- The outbox keeps the rendered message, so delivery needs no template and a
-- resend after a crash sends exactly the same bytes.
alter table plaudit.outbox add column subject text;
alter table plaudit.outbox add column body_text text;
alter table plaudit.outbox add column body_html text;
alter table plaudit.outbox add column sender text;
alter table plaudit.outbox add column recipient_name text;
