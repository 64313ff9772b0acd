// The HTTP API: the token (kept in localStorage), JSON requests, and the dashboard's actions.

const TOKEN_KEY = "tocsin.token";

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const why = data && typeof data === "object" ? `${data.error}: ${JSON.stringify(data.detail)}` : text;
    throw new ApiError(response.status, `${response.status} ${why}`);
  }
  return data;
}

// Who is acting: with a token the server names the token; without one it needs a name.
function who() {
  return token() ? {} : { by: "dashboard" };
}

export const api = {
  active: () => request("GET", "/alerts/active"),
  heartbeats: () => request("GET", "/api/v1/heartbeats"),
  group: (id) => request("GET", `/api/v1/groups/${encodeURIComponent(id)}`),
  history: (id) => request("GET", `/api/v1/groups/${encodeURIComponent(id)}/history?limit=500`),
  command: (id, verb, comment = "") =>
    request("POST", `/api/v1/alerts/${encodeURIComponent(id)}/${verb}`, { ...who(), comment }),
  silence: (labels, hours, comment) => {
    const now = new Date();
    return request("POST", "/api/v2/silences", {
      matchers: Object.entries(labels).map(([name, value]) => ({
        name,
        value,
        isRegex: false,
        isEqual: true,
      })),
      startsAt: now.toISOString(),
      endsAt: new Date(now.getTime() + hours * 3600_000).toISOString(),
      createdBy: "dashboard",
      comment: comment || "silenced from the dashboard",
    });
  },
};
