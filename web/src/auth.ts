/**
 * Where the API token lives in the browser: sessionStorage by default (gone when the tab
 * closes), localStorage when the user ticks "Remember me". Never in a cookie or the URL.
 */
const KEY = 'infrapulse.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: sign in every time
  }
}

export function storeToken(token: string, remember: boolean): void {
  forgetToken();
  try {
    (remember ? localStorage : sessionStorage).setItem(KEY, token);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
