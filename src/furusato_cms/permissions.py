"""Every permission the application knows, as ``area:thing:action`` strings."""
from enum import StrEnum


class Permissions(StrEnum):
    VIEW = "public:content:view"
    JOIN_APPLY = "public:join:apply"
    ACCOUNT_MANAGE = "account:self:manage"

    OPERATOR_VIEW = "operator:sites:view"
    OPERATOR_DECIDE = "operator:sites:decide"

    SITE_DASHBOARD = "site:dashboard:view"
    SITE_SETTINGS = "site:settings:edit"
    SITE_STAFF = "site:staff:manage"
    CONTENT_EDIT = "site:content:edit"
    CONTENT_PUBLISH = "site:content:publish"
