"""The emulated Entra ID: discovery, the token and device-code endpoints and the bearer check
(`authority`), the JWTs it issues (`tokens`), users' sign-ins (`signins`), and the browser
sign-in: its codes (`authcode`) and its pages (`browser`).
"""
