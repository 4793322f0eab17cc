-- Target publics of the activities, with their French labels: one row per loaded activity and public aimed at (fact_activity_public).
select
    fact_activity_public.activity_id as activity_id,
    fact_activity.year as year,
    fact_activity.centre_code as centre_code,
    fact_activity_public.public_code as public_code,
    dim_public.label as public, -- Public the activity was aimed at, as shown to people (French label)
    fact_activity.half_days as half_days -- Duration of the activity in half-days (counted once per public: do not add up across publics)
from fact_activity_public
inner join fact_activity
    on fact_activity_public.activity_id = fact_activity.activity_id
inner join dim_public
    on fact_activity_public.public_code = dim_public.public_code
