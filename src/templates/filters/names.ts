/** Every filter name templates may use (checked at compile time, like Jinja2 does). */
export const FILTER_NAMES: ReadonlySet<string> = new Set([
  'abs', 'attr', 'batch', 'capitalize', 'center', 'count', 'd', 'default', 'dictsort', 'e', 'escape', 'filesizeformat',
  'first', 'float', 'forceescape', 'format', 'groupby', 'indent', 'int', 'join', 'last', 'length', 'list', 'lower',
  'items', 'map', 'min', 'max', 'pprint', 'random', 'reject', 'rejectattr', 'replace', 'reverse', 'round', 'safe',
  'select', 'selectattr', 'slice', 'sort', 'string', 'striptags', 'sum', 'title', 'trim', 'truncate', 'unique', 'upper',
  'urlencode', 'urlize', 'wordcount', 'wordwrap', 'xmlattr', 'tojson',
  'from_json', 'json_encode', 'base64_encode', 'base64_decode',
]);
