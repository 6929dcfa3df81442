import { useCallback, useState } from 'react';

const KEY = 'mini-blog:admin-token';

/**
 * The operator's admin credential for the fault switches, kept for this tab only (sessionStorage:
 * gone when the tab closes, never sent anywhere but in the switches' Authorization header).
 */
export function useAdminToken(): { token: string | null; keep(token: string): void; forget(): void } {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(KEY));
  const keep = useCallback((value: string) => {
    sessionStorage.setItem(KEY, value);
    setToken(value);
  }, []);
  const forget = useCallback(() => {
    sessionStorage.removeItem(KEY);
    setToken(null);
  }, []);
  return { token, keep, forget };
}
