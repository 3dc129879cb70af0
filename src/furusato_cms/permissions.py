"""Every permission the application knows, as ``area:thing:action`` strings."""
from enum import StrEnum


class Permissions(StrEnum):
    VIEW = "public:content:view"
    JOIN_APPLY = "public:join:apply"
    ACCOUNT_MANAGE = "account:self:manage"
    SIGN_UP = "public:account:sign_up"

    REGISTRANT_SELF = "registrant:self:manage"
    REGISTER = "site:registration:create"

    OPERATOR_VIEW = "operator:sites:view"
    OPERATOR_DECIDE = "operator:sites:decide"
    OPERATOR_SETTINGS = "operator:settings:edit"

    SITE_DASHBOARD = "site:dashboard:view"
    SITE_SETTINGS = "site:settings:edit"
    SITE_STAFF = "site:staff:manage"
    WEBHOOKS_MANAGE = "site:webhooks:manage"
    CONTENT_EDIT = "site:content:edit"
    CONTENT_PUBLISH = "site:content:publish"
    SURVEY_MANAGE = "site:survey:manage"
    PARTNER_MANAGE = "site:partners:manage"
    PROJECT_CREATE = "site:projects:create"
    PROJECT_MANAGE = "site:projects:manage"
    PROJECT_DESIGNATE = "site:projects:designate"
    ATTENDANCE_RECORD = "site:attendance:record"
    ATTENDANCE_IMPORT = "site:attendance:import"
    SESSION_APPLY = "site:session:apply"
    CHECK_IN = "site:session:check_in"
    REGISTRATIONS_EXPORT = "site:registrations:export"
    STATS_VIEW = "site:stats:view"
    PREMIUM_REVIEW = "site:premium:review"
    CONSULTATION_HANDLE = "site:consultations:handle"
    MONITOR_SURVEY_MANAGE = "site:monitor_surveys:manage"
    MONITOR_SURVEY_ANSWER = "site:monitor_surveys:answer"
    ROOM_MODERATE = "site:room:moderate"
    ROOM_PARTICIPATE = "site:room:participate"
    NEED_SUBMIT = "site:needs:submit"
    NEED_VIEW = "site:needs:view"
    NEED_TRIAGE = "site:needs:triage"
    SUPPORT_EDIT = "site:support:edit"
    SUPPORT_HANDLE = "site:support:handle"
    SUPPORT_APPLY = "site:support:apply"

    OAUTH_CLIENTS_MANAGE = "oauth:clients:manage"
    """Register, rotate and suspend apps: the operator the national ones, a site admin
    their site's (resources/oauth.py)."""

    # The open API's scopes (services/oauth/scopes.py): an API view needing scope X has
    # the permission "api:scope:X", granted by resources/api.py to tokens holding X.
    API_PROFILE = "api:scope:profile"
    API_REGISTRATIONS = "api:scope:registrations"
    API_CARD = "api:scope:card"
    API_ACTIVITIES = "api:scope:activities"
    API_INBOX = "api:scope:inbox"
    API_SITE_REGISTRATIONS_READ = "api:scope:site.registrations.read"
    API_SITE_ATTENDANCE_READ = "api:scope:site.attendance.read"
    API_SITE_ATTENDANCE_WRITE = "api:scope:site.attendance.write"
    API_SITE_APPLICATIONS_READ = "api:scope:site.applications.read"
    API_TOKEN = "api:token:inspect"
