/** callcard's logo, shown on contact cards from the embedded store. */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<rect x="4" y="10" width="56" height="44" rx="8" fill="#0b6e4f"/>
<circle cx="22" cy="28" r="8" fill="#fff"/>
<path d="M10 48c2-8 8-11 12-11s10 3 12 11z" fill="#fff"/>
<rect x="38" y="22" width="16" height="4" rx="2" fill="#fff"/>
<rect x="38" y="31" width="12" height="4" rx="2" fill="#fff"/>
<rect x="38" y="40" width="14" height="4" rx="2" fill="#fff"/>
</svg>
`;
