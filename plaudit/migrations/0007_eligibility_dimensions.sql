-- Eligibility by team, location and employment status as well as role.
alter table plaudit.program_eligibility drop constraint program_eligibility_dimension_check;
alter table plaudit.program_eligibility add constraint program_eligibility_dimension_check
    check (dimension in ('role', 'team', 'location', 'status'));
