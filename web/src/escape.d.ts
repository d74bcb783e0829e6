/** Escapes text for use inside HTML (tooltips). */
export function escapeHtml(value: unknown): string;
