// An OpenID Connect provider for Ballast's sign-in tests, on 127.0.0.1 only.
//
// Built on the certified `oidc-provider` package: discovery, authorization code flow with
// PKCE, signed ID tokens, userinfo and end-session are the library's; this file adds two test
// accounts and a login form that checks their passwords.
//
// Usage: node provider.mjs   with the environment
//   OIDC_PORT           port to listen on (127.0.0.1)
//   OIDC_CLIENT_ID      the one client's id
//   OIDC_CLIENT_SECRET  its secret
//   OIDC_REDIRECT_URI   its redirect URI (Streamlit's .../oauth2callback)
//   OIDC_LOGOUT_URI     optional post-logout redirect URI (default: the redirect URI)
//   OIDC_USERS          JSON {"login": {"password", "email", "name"}, ...}
// Prints "listening <issuer>" when it accepts requests.
import { Provider, interactionPolicy } from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const users = JSON.parse(process.env.OIDC_USERS);
const redirectUri = process.env.OIDC_REDIRECT_URI;

// Streamlit asks for prompt=select_account (as Google does); the base policy has no such
// prompt and would refuse the request. The login form resolves it.
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [process.env.OIDC_LOGOUT_URI || redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Streamlit reads the claims from the ID token (Authlib's parsed `userinfo`), not from
  // the userinfo endpoint.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['ballast-test-oidc-cookie-key'] },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: true, name: user.name };
      },
    };
  },
});

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Test identity provider</h1>
${message ? `<p id="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Username <input name="login" id="login" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 10000) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
  if (!match) {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.set('cache-control', 'no-store');
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, '');
    return;
  }
  if (ctx.method !== 'POST') {
    ctx.status = 405;
    return;
  }
  const form = await readForm(ctx.req);
  const login = form.get('login') || '';
  const user = Object.hasOwn(users, login) ? users[login] : undefined;
  if (!user || user.password !== form.get('password')) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, 'Wrong username or password.');
    return;
  }
  // Consent is given with the sign-in (a test provider; the client is trusted).
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope || 'openid'));
  const grantId = await grant.save();
  const result = { select_account: {}, login: { accountId: login }, consent: { grantId } };
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result,
    { mergeWithLastSubmission: false }));
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
