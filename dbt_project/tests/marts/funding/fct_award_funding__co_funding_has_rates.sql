-- An account co-funding in another currency needs an exchange rate from the
-- award's currency on or before the award date: load one (an `exchange_rates`
-- file in the inbox: rate_date, from_currency, to_currency, rate). Until then
-- nothing is published.
select award_id, account_id, currency as from_currency, account_currency as to_currency
from {{ ref('fct_award_funding') }}
where funding_source = 'account' and rate is null
