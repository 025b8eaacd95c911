export declare const ROOT: string;
export declare function compiledIsFresh(root?: string): boolean;
