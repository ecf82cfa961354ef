-- More attribution models: role weights per program version, a half-life for time decay.
alter table plaudit.program_versions add column half_life_hours numeric(10, 2);

create table plaudit.program_role_weights (
    program          text not null,
    version_id       text not null,
    participant_role text not null,
    weight           numeric(9, 6) not null check (weight > 0 and weight <= 1),
    primary key (program, version_id, participant_role),
    foreign key (program, version_id) references plaudit.program_versions
);
