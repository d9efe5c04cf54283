// The pages' only source of data: GraphQL at /graphql, sent with the caller's token.
//
// The token lives in sessionStorage (this tab, until it closes). A link may carry one in its
// fragment (#token=…): it is taken once, when this module loads, and removed from the address bar
// and the history at once, so it is not bookmarked, shared or sent anywhere (fragments never reach
// a server). A project without policies needs no token: requests then go without one.

const KEY = 'semantic-layer-token';

takeTokenFromFragment();

function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return;
  params.delete('token');
  if (token) sessionStorage.setItem(KEY, token);
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
}

export function getToken() {
  return sessionStorage.getItem(KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token.trim());
  else sessionStorage.removeItem(KEY);
}

/** A GraphQL error: `code` is its extensions.code (UNAUTHENTICATED, FORBIDDEN, VALIDATION, …). */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || 'INTERNAL';
  }
}

const authListeners = new Set();

/** Call `listener(error)` when a request is refused for want of a (valid) token. */
export function onAuthProblem(listener) {
  authListeners.add(listener);
}

let dashboard = null;

/** Name the dashboard this page shows: every request then says so (X-Semantic-Layer-Dashboard),
 *  and the server's audit log counts its queries per dashboard (`semantic-layer usage`). */
export function setDashboard(name) {
  dashboard = name;
}

export async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (dashboard) headers['x-semantic-layer-dashboard'] = dashboard;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (err) {
    throw new ApiError(`the server cannot be reached (${err.message})`, 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status} without a GraphQL body`, 'INTERNAL');
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const error = new ApiError(first.message, first.extensions && first.extensions.code);
    if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') {
      for (const listener of authListeners) listener(error);
    }
    throw error;
  }
  return body.data;
}

// The document dashboards send for every tile: the server answers this shape on its fast path.
const QUERY = `query Q($input: QueryInput!) {
  query(input: $input) { columns { name kind type format } rows warnings truncated }
}`;
const QUERY_WITH_SQL = `query Q($input: QueryInput!) {
  query(input: $input) { columns { name kind type format } rows warnings truncated sql }
}`;

/** One query's answer: {columns, rows, warnings, truncated} (and `sql` when asked for). */
export async function runQuery(input, { sql = false } = {}) {
  const data = await gql(sql ? QUERY_WITH_SQL : QUERY, { input });
  return data.query;
}

export const ALERTS = `query Alerts($metrics: [String!], $timeRange: TimeRangeInput, $grain: String) {
  alerts(metrics: $metrics, timeRange: $timeRange, grain: $grain) {
    metric level value period grain bound boundKind boundLevel direction message note
  }
}`;
