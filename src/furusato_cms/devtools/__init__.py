"""Development and test stand-ins (開発・テスト用の代替サーバー) — never for production.

- ``furusato-dev-oidc``: a local OpenID Connect provider standing in for the national
  My Number Card authentication service (マイナンバーカードによる本人確認), issuing signed
  ID tokens for a list of fictional test people, some of whom misbehave on purpose.
- ``furusato-dev-mail``: a local SMTP server that keeps messages in memory and shows them
  in the browser (and as JSON for tests).

Both are real server processes, so the application's identity and mail code is exercised
over the network exactly as in production. They hold no real personal data and perform no
real authentication: never point a production configuration at them.
"""
