-- Awards above the manager's limit are decided by finance.
alter table plaudit.awards drop constraint awards_approval_level_check;
alter table plaudit.awards add constraint awards_approval_level_check
    check (approval_level in ('auto', 'manager', 'finance'));
